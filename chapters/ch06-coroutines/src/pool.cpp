#include "evq/coro/pool.hpp"

#include <cstdio>
#include <map>
#include <stdexcept>
#include <thread>
#include <utility>

namespace evq::coro {

using Clock = std::chrono::steady_clock;

// The timer thread: sleepers are resumed through the port at their deadline (a kResume packet, so
// a pool thread resumes them, under the cap like any completion), and read_for's deadlines cancel
// their socket's operations. One mutex orders a deadline against the read it guards (see arm()).
class Pool::Timers {
 public:
  explicit Timers(Pool& pool) : pool_(pool), thread_([this] { run(); }) {}
  ~Timers() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  void add_sleep(Clock::time_point due, std::coroutine_handle<> waiter) {
    std::lock_guard lock(mutex_);
    const std::uint64_t id = next_id_++;
    auto [at, added] = entries_.emplace(Key{due, id}, Entry{waiter, {}});
    if (at == entries_.begin()) wake_.notify_one();  // see arm(): only a new earliest deadline wakes
  }

  // Registers a deadline that cancels `sock`, writes its id and deadline to the operation, then
  // issues the guarded operation, all under the lock: the deadline cannot fire (and cancel) before
  // the operation is issued, so a cancel never misses the read it was meant for. Nothing is touched
  // after `issue`: by then the operation may have completed and its frame moved on, on another
  // thread.
  template <typename Issue>
  void arm(Clock::time_point due, NativeSocket sock, IoOp& op, Issue issue) {
    std::lock_guard lock(mutex_);
    const std::uint64_t id = next_id_++;
    op.timer = id;
    op.timer_due = due;
    auto [at, added] = entries_.emplace(Key{due, id}, Entry{{}, sock});
    // The thread sleeps until the earliest deadline; a later one changes nothing for it, so only a
    // new earliest one wakes it. (A server arms one idle timeout per read, all of the same length:
    // waking the timer thread for each would cost a context switch per request.)
    if (at == entries_.begin()) wake_.notify_one();
    issue();
  }

  // The guarded operation completed first: its deadline is dropped. (Not there: it fired already,
  // and its cancel found nothing, or won.) The deadline and the id are the entry's key, so no
  // second table is needed to find it.
  void disarm(const IoOp& op) {
    std::lock_guard lock(mutex_);
    entries_.erase(Key{op.timer_due, op.timer});
  }

 private:
  using Key = std::pair<Clock::time_point, std::uint64_t>;  // ids break ties: deadline order, then FIFO
  struct Entry {
    std::coroutine_handle<> waiter;  // sleep_for
    NativeSocket cancel_sock{};      // read_for
  };

  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (entries_.empty()) {
        wake_.wait(lock);
        continue;
      }
      const Clock::time_point due = entries_.begin()->first.first;  // a copy: erase() may come
      if (Clock::now() < due) {
        wake_.wait_until(lock, due);
        continue;
      }
      const Entry entry = entries_.begin()->second;
      entries_.erase(entries_.begin());
      if (entry.waiter) {
        pool_.post_resume(entry.waiter);
      } else {
        pool_.io_.cancel(entry.cancel_sock);  // still under the lock: see arm()
      }
    }
  }

  Pool& pool_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<Key, Entry> entries_;
  std::uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

// [snippet pool-spawn]
// The coroutine that owns a spawned task (co_spawn's detached start): it moves to a pool thread,
// awaits the task, hands an escaping exception to the sink, and frees its own frame at the end.
struct Pool::Detached {
  struct promise_type {
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }  // own() catches everything
  };
};

Pool::Detached Pool::own(Pool& pool, Task<void> task, ErrorSink sink) {
  co_await pool.hop();  // from here on, a pool thread runs it
  std::exception_ptr error;
  try {
    co_await std::move(task);
  } catch (...) {
    error = std::current_exception();
  }
  // Free the task's frame before join() can return: its promise holds the exception too, and the
  // last holder of an exception frees it. Dropped here, that is ordered before join() by the mutex;
  // dropped after, it races with the thread that caught the rethrown exception.
  { Task<void> finished = std::move(task); }
  task_finished(pool, std::move(error), sink);
}

void Pool::spawn(Task<void> task, ErrorSink on_error) {
  live_.fetch_add(1);  // before it can possibly finish, so that join() cannot miss it
  own(*this, std::move(task), std::move(on_error));
}
// [/snippet pool-spawn]

void Pool::task_finished(Pool& pool, std::exception_ptr error, const ErrorSink& sink) {
  if (error && sink) {
    try {
      sink(error);
      error = nullptr;  // handled
    } catch (...) {
      error = std::current_exception();  // a sink that throws: join() rethrows that
    }
  }
  std::lock_guard lock(pool.mutex_);
  if (error && !pool.first_error_) pool.first_error_ = std::move(error);  // join() holds the only copy
  error = nullptr;  // a second error is dropped here, under the lock, not after join() returned
  pool.live_.fetch_sub(1);
  pool.all_done_.notify_all();
}

namespace {
port::Driver driver_for(const Pool::Options& options) {
  if (options.driver) return *options.driver;
  return port::PortIo::callers_can_drive(options.backend) ? port::Driver::callers : port::Driver::pump;
}
}  // namespace

Pool::Pool(Options options)
    : port_(options.concurrency),
      io_(port_, options.backend, driver_for(options)),
      complete_inline_(options.complete_inline),
      timers_(std::make_unique<Timers>(*this)),
      workers_(std::make_unique<port::ThreadPool>(
          port_, [this](const port::Packet& p) { handle(p); }, options.threads, "coro",
          io_.driver() == port::Driver::callers ? &io_ : nullptr)) {}

bool Pool::post_resume(std::coroutine_handle<> waiter) {
  if (!port_.post(kResume, 0, reinterpret_cast<std::uint64_t>(waiter.address()))) return false;
  // With the pool's threads driving the queue, the packet may be left queued with nobody to take
  // it but the thread waiting in its turn at the queue: then end that wait. Not otherwise: a pool
  // thread that posts (hop()) comes back to get() and takes the packet itself, as chapter 5's cap
  // wants, and a running thread will too; a poller woken for nothing would compete with them.
  // (A turn that starts after this looks at the port first: PortIo::poll.)
  if (io_.driver() == port::Driver::callers && !port_.is_associated()) {
    const port::Port::Counters now = port_.counters();
    if (now.queued > 0 && now.running == 0) io_.wake();
  }
  return true;
}

Pool::~Pool() {
  workers_->stop();  // closes the port and joins the threads: no coroutine runs after this
  timers_.reset();
  if (const std::size_t left = live_.load(); left > 0)
    std::fprintf(stderr, "coro::Pool: destroyed with %zu task(s) unfinished; their frames are kept\n", left);
  // io_ goes next: it cancels what is still pending and drops the completions (the port is closed).
  // The frames of unfinished tasks stay allocated, so no buffer they lent is freed under the kernel.
}

void Pool::join() {
  std::unique_lock lock(mutex_);
  all_done_.wait(lock, [this] { return live_.load() == 0; });
  if (first_error_) std::rethrow_exception(std::exchange(first_error_, nullptr));
}

void Pool::associate(NativeSocket sock) {
  io_.associate(sock, kIo);
}
void Pool::close(OwnedSocket sock) {
  io_.close(std::move(sock));
}
void Pool::cancel(NativeSocket sock) {
  io_.cancel(sock);
}

// [snippet pool-handle]
// Every packet comes here, on whichever pool thread the port released for it.
void Pool::handle(const port::Packet& packet) {
  if (packet.key == kResume) {  // hop(), sleep_for, spawn: resume that coroutine here
    std::coroutine_handle<>::from_address(reinterpret_cast<void*>(packet.user)).resume();
    return;
  }
  auto* op = reinterpret_cast<IoOp*>(packet.user);  // the awaiter in the suspended frame
  op->bytes = packet.bytes;
  op->error = packet.error;
  if (op->timer) timers_->disarm(*op);  // read_for: the data beat the deadline
  if (op->scope) {
    std::lock_guard lock(op->scope->mutex_);
    --op->scope->pending_[op->sock];  // a 0 stays: see CancelScope::pending_
  }
  if (op->is_accept && !packet.error) {
    op->accepted = io_.take_accepted(packet.user);
    if (op->accepted) associate(op->accepted.get());  // queued before anything the coroutine does
  }
  op->waiter.resume();  // runs the coroutine on this thread until its next co_await
}
// [/snippet pool-handle]

// [snippet pool-op-suspend]
bool Pool::OpAwaiter::await_suspend(std::coroutine_handle<> waiter) {
  op.waiter = waiter;
  op.is_accept = kind == kAccept;
  op.sock = sock;
  if (!op.scope) {
    if (completed_inline()) return false;  // not suspended: await_resume() has the result
    issue();
    return true;
  }
  // In a scope. The inline try runs outside the scope's lock: a scope is shared by many connections
  // (chapter 7 has one for every idle read), and holding its lock across the try's syscalls made
  // each of them wait for the others'. A cancel() that comes during the try finds the operation
  // done, just as one that comes after any completion does (ch04's rule: it keeps its result).
  if (pool.complete_inline_) {
    if (op.scope->cancelled_.load()) {
      op.error = completion::operation_aborted();
      return false;  // not suspended: await_resume() reports the abort at once
    }
    if (completed_inline()) return false;
  }
  // Check and issue under the lock, so that cancel() either comes first (and this operation never
  // starts) or finds it pending (and cancels it). There is no third case.
  std::lock_guard lock(op.scope->mutex_);
  if (op.scope->cancelled_.load()) {
    op.error = completion::operation_aborted();  // (a write reports what went out inline, too)
    return false;
  }
  ++op.scope->pending_[sock];
  issue();
  return true;
}

void Pool::OpAwaiter::issue() {
  const auto user = reinterpret_cast<std::uint64_t>(&op);
  // Once issued, the operation may complete, and the coroutine resume on another pool thread,
  // before this function returns: nothing after the issuing call may touch `this`.
  port::PortIo& io = pool.io_;
  auto start = [&io, kind = kind, sock = sock, buffer = buffer, out = out, &to = to, user, tried = tried] {
    switch (kind) {
      case kRead:  // found empty: on epoll or kqueue, the data will wake the queue's waiter itself
        return tried.found_empty ? io.read_found_empty(sock, buffer, user, tried)
                                 : io.read(sock, buffer, user);
      case kWrite:
        return io.write(sock, out, user);
      case kAccept:
        return io.accept(sock, user);
      case kConnect:
        return io.connect(sock, to, user);  // PortIo copies `to` before the call returns
    }
  };
  if (limit)
    pool.timers_->arm(Clock::now() + *limit, sock, op, start);
  else
    start();
}
// [/snippet pool-op-suspend]

// [snippet complete-inline]
// The fast path: most writes fit in the socket's buffer, and a read often finds its data there
// already. Either completes here, on this thread, with no hand-off to the pump and no packet.
bool Pool::OpAwaiter::completed_inline() {
  if (!pool.complete_inline_) return false;
  // (A read_for that finds its data never waits, so it needs no timer: issue() arms one only for
  // the read that goes to the pump.)
  if (kind == kRead) {
    std::optional<std::uint32_t> got = pool.io_.try_read(sock, buffer, tried);
    if (!got) return false;
    op.bytes = *got;
    return true;
  }
  if (kind == kWrite) {
    const std::size_t sent = port::PortIo::try_write(sock, out);
    if (sent == out.size()) {
      op.bytes = static_cast<std::uint32_t>(sent);
      return true;
    }
    done_inline = static_cast<std::uint32_t>(sent);  // the rest goes through the pump
    out = out.subspan(sent);
  }
  return false;
}
// [/snippet complete-inline]

void CancelScope::cancel() {
  std::lock_guard lock(mutex_);
  if (cancelled_.load()) return;
  cancelled_.store(true);
  for (const auto& [sock, count] : pending_)
    if (count > 0) pool_.cancel(sock);  // ch04's cancel, through the pump
}

bool CancelScope::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_.load();
}

void Pool::SleepAwaiter::await_suspend(std::coroutine_handle<> waiter) {
  pool.timers_->add_sleep(due, waiter);
}

void Pool::HopAwaiter::await_suspend(std::coroutine_handle<> waiter) {
  if (!pool.post_resume(waiter)) throw std::logic_error("coro::Pool: hop() after the pool was stopped");
}

Pool::OpAwaiter Pool::read(NativeSocket sock, std::span<std::byte> buffer) {
  return OpAwaiter{OpAwaiter::kRead, *this, sock, buffer};
}
Pool::OpAwaiter Pool::read_for(NativeSocket sock, std::span<std::byte> buffer,
                               std::chrono::milliseconds limit) {
  OpAwaiter a{OpAwaiter::kRead, *this, sock, buffer};
  a.limit = limit;
  return a;
}
Pool::OpAwaiter Pool::write(NativeSocket sock, std::span<const std::byte> buffer) {
  OpAwaiter a{OpAwaiter::kWrite, *this, sock};
  a.out = buffer;
  return a;
}
Pool::OpAwaiter Pool::connect(NativeSocket sock, const completion::Endpoint& to) {
  OpAwaiter a{OpAwaiter::kConnect, *this, sock};
  a.to = to;
  return a;
}
Pool::AcceptAwaiter Pool::accept_one(NativeSocket listener) {
  return AcceptAwaiter{OpAwaiter{OpAwaiter::kAccept, *this, listener}};
}
Pool::SleepAwaiter Pool::sleep_for(std::chrono::milliseconds d) {
  return SleepAwaiter{*this, Clock::now() + d};
}
Pool::HopAwaiter Pool::hop() {
  return HopAwaiter{*this};
}

}  // namespace evq::coro
