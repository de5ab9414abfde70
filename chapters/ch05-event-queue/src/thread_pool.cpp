#include "evq/port/thread_pool.hpp"

#include <fmt/core.h>

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

ThreadPool::ThreadPool(Port& port, Handler handler, unsigned threads, std::string name)
    : port_(port), handler_(std::move(handler)), name_(std::move(name)) {
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
  for (;;) {
    GetResult r = port_.get();
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

void ThreadPool::stop() {
  port_.close();
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
  if (failed_.load() && error_) {
    std::exception_ptr e = std::exchange(error_, nullptr);
    std::rethrow_exception(e);
  }
}

}  // namespace evq::port
