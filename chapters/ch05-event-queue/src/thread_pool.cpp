#include "evq/port/thread_pool.hpp"

#include <fmt/core.h>

#include <stdexcept>
#include <utility>

#include "evq/port/trace.hpp"

namespace evq::port {

// [snippet pool-size]
unsigned pool_size_for(unsigned concurrency) {
  // [MS-IOCP]'s rule of thumb: twice as many threads as the concurrency, so that a waiter is
  // ready whenever a running thread blocks somewhere else.
  return 2 * (concurrency == 0 ? cpu_count() : concurrency);
}
// [/snippet pool-size]

ThreadPool::ThreadPool(Port& port, Handler handler, unsigned threads, std::string name, PortIo* drive)
    : port_(port), handler_(std::move(handler)), drive_(drive), name_(std::move(name)) {
  if (drive_ && drive_->driver() != Driver::callers)
    throw std::invalid_argument("ThreadPool: the PortIo to drive has a pump of its own (Driver::pump)");
  unsigned n = threads == 0 ? pool_size_for(port.concurrency()) : threads;
  threads_.reserve(n);
  for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this, i] { run(i); });
}

ThreadPool::~ThreadPool() {
  try {
    stop();
  } catch (...) {
    // A destructor must not throw; call stop() yourself to see a handler's exception.
  }
}

void ThreadPool::run(unsigned index) {
  if (Trace* t = port_.trace()) t->name_thread(fmt::format("{} {}", name_, index + 1));
  unsigned queued_in_a_row = 0;
  for (;;) {
    GetResult r = next(queued_in_a_row);
    if (r.status == Wait::closed) return;
    if (!r.got()) continue;
    try {
      handler_(r.packet);
    } catch (...) {
      if (!failed_.exchange(true)) error_ = std::current_exception();
      return;
    }
    handled_.fetch_add(1, std::memory_order_relaxed);
  }
}

// [snippet pool-next]
GetResult ThreadPool::next(unsigned& queued_in_a_row) {
  if (!drive_) return port_.get();
  // What the port holds already comes first, as Asio's scheduler runs its reactor only when its
  // queue comes round to it: a turn taken now would sleep in the ch04 queue while work waits here,
  // and wake for a batch of one. After kQueuedBeforeTurn packets in a row the turn comes anyway,
  // so that a stream of posts cannot keep the sockets' completions out.
  if (queued_in_a_row < kQueuedBeforeTurn) {
    GetResult r{Wait::packet, {}};
    switch (port_.take_queued(r.packet)) {
      case Port::Queued::taken:
        ++queued_in_a_row;
        return r;
      case Port::Queued::capped:  // wait for a running thread in get(), as any waiter does: a turn
        return port_.get();       // would only look (see PortIo::poll) and come back here, a spin
      case Port::Queued::closed:
        return GetResult{Wait::closed, {}};
      case Port::Queued::none:
        break;
    }
  }
  queued_in_a_row = 0;
  std::optional<Packet> mine;
  // Another thread's turn at the ch04 queue: wait in get(), which takes a queued packet first.
  if (!drive_->poll(mine)) return port_.get();
  if (port_.closed()) return GetResult{Wait::closed, {}};  // as a post would have been, it is dropped
  if (mine) return GetResult{Wait::packet, *mine};         // what our turn completed first is ours
  // Our turn ended with nothing for us (woken, or it only looked because a packet was queued):
  // come back, and the next call looks at the port first.
  return GetResult{Wait::timeout, {}};
}
// [/snippet pool-next]

void ThreadPool::stop() {
  port_.close();
  if (drive_) drive_->stop_polling();  // the thread waiting in its turn comes back and sees closed
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
  if (failed_.load() && error_) {
    std::exception_ptr e = std::exchange(error_, nullptr);
    std::rethrow_exception(e);
  }
}

}  // namespace evq::port
