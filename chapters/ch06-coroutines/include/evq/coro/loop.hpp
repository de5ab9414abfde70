// Loop: runs coroutines on one thread over a ch04 CompletionQueue. A coroutine that co_awaits
// loop.read(sock, buffer) lends the buffer exactly as a ch04 caller does; the difference is who
// waits for the completion: the Loop does, and resumes the coroutine with the result.
//
//   Loop loop(queue);
//   loop.spawn(serve(loop, listener));   // starts it now; the Loop owns it until it finishes
//   loop.run();                          // returns when every spawned task has finished
//
// How a completion finds its coroutine: each operation's awaiter lives in the suspended frame; its
// address is the operation's user_data. wait() hands it back, the Loop stores the result in it and
// resumes the handle it holds. The buffer lives in the same frame, which stays alive (suspended)
// until that very completion: the lending contract is kept by construction.
//
// THREADS: a Loop and its queue belong to the thread that calls run() (ch04's rule).
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <exception>
#include <optional>
#include <queue>
#include <set>
#include <span>
#include <system_error>
#include <vector>

#include "evq/completion/queue.hpp"
#include "evq/coro/io_result.hpp"
#include "evq/coro/task.hpp"

namespace evq::coro {

using completion::NativeSocket;

class Loop {
  struct IoOp;

 public:
  using Clock = std::chrono::steady_clock;

  explicit Loop(completion::CompletionQueue& queue) : queue_(queue) {}
  // Destroys the frames of tasks that never finished, if no operation is in flight (see loop.cpp).
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  completion::CompletionQueue& queue() { return queue_; }

  // Starts `task` at once (it runs until its first suspension). The Loop keeps it until it finishes;
  // an exception that escapes it is kept too, and run() rethrows the first one.
  void spawn(Task<void> task);

  // Resumes coroutines as their operations complete and their timers expire, until every spawned
  // task has finished. Throws if tasks remain but nothing can ever resume them (a deadlock).
  void run();

  // Runs one task to its end and returns its value (or rethrows its exception).
  template <typename T>
  T run(Task<T> task);

  // ---- awaitables: co_await each; the buffers must live until the co_await returns --------------
  struct [[nodiscard]] OpAwaiter;
  OpAwaiter read(NativeSocket sock, std::span<std::byte> buffer);
  OpAwaiter write(NativeSocket sock, std::span<const std::byte> buffer);  // all of it, or an error
  OpAwaiter accept(NativeSocket listener);  // only the error: accept_one() also gives the socket
  OpAwaiter connect(NativeSocket sock, const completion::Endpoint& to);
  // A read that is cancelled (completes aborted) if nothing arrived within `limit`.
  OpAwaiter read_for(NativeSocket sock, std::span<std::byte> buffer, std::chrono::milliseconds limit);

  struct [[nodiscard]] SleepAwaiter;
  SleepAwaiter sleep_for(std::chrono::milliseconds d);

  // Resumes `waiter` from the loop itself, on its next turn, not from inside the caller's call
  // stack: how one coroutine wakes another (a channel handing over a value, the last child of a
  // when_any waking its parent) without the two running nested, one frame on top of the other.
  void resume_soon(std::coroutine_handle<> waiter) { ready_.push_back(waiter); }
  struct [[nodiscard]] YieldAwaiter;
  YieldAwaiter yield();  // co_await loop.yield(): let the others run, go on at the next turn

  // ch04's cancel: every pending operation of `sock` completes with operation_aborted, exactly once.
  void cancel(NativeSocket sock) { queue_.cancel(sock); }

  // Thread-safe (through the queue's post()): runs `on_stop` (set with on_stop()) on the loop's
  // thread, once. A server uses it to cancel what its coroutines wait for, so they end and run()
  // returns.
  void request_stop();
  void on_stop(void (*fn)(void*), void* context) {
    stop_fn_ = fn;
    stop_context_ = context;
  }
  bool stop_requested() const { return stop_requested_; }

  std::size_t live_tasks() const { return live_; }

 private:
  // One pending operation: what to resume, and where the result goes.
  struct IoOp {
    std::coroutine_handle<> waiter;
    completion::Completion result;
    std::uint64_t timer = 0;  // read_for: the timer that cancels it (0: none)
  };
  // A timer: resume a sleeper, or cancel a socket's operations (read_for).
  struct Timer {
    Clock::time_point due;
    std::uint64_t id;
    std::coroutine_handle<> resume;  // set for sleep_for
    NativeSocket cancel_sock{};      // set for read_for
    bool operator>(const Timer& o) const { return due != o.due ? due > o.due : id > o.id; }
  };

  std::uint64_t add_timer(Clock::time_point due, std::coroutine_handle<> resume, NativeSocket cancel_sock);
  void run_once();

 public:
  // The awaiter types (public so that co_await can name them; made only by the calls above).
  struct [[nodiscard]] OpAwaiter {
    enum Kind { kRead, kWrite, kAccept, kConnect } kind;
    Loop& loop;
    NativeSocket sock;
    std::span<std::byte> buffer{};
    std::span<const std::byte> out{};
    const completion::Endpoint* to = nullptr;
    std::optional<std::chrono::milliseconds> limit{};
    IoOp op{};

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> waiter);
    IoResult await_resume();
  };
  struct [[nodiscard]] SleepAwaiter {
    Loop& loop;
    Clock::time_point due;
    bool await_ready() const noexcept { return due <= Clock::now(); }
    void await_suspend(std::coroutine_handle<> waiter) { loop.add_timer(due, waiter, {}); }
    void await_resume() const noexcept {}
  };
  struct [[nodiscard]] YieldAwaiter {
    Loop& loop;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> waiter) { loop.resume_soon(waiter); }
    void await_resume() const noexcept {}
  };
  // co_await loop.accept_one(listener) gives the socket as well as the error.
  struct [[nodiscard]] AcceptAwaiter {
    OpAwaiter inner;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> waiter) { inner.await_suspend(waiter); }
    AcceptResult await_resume() {
      IoResult r = inner.await_resume();
      return {std::move(inner.op.result.accepted), r.error};
    }
  };
  AcceptAwaiter accept_one(NativeSocket listener) { return AcceptAwaiter{accept(listener)}; }

 private:
  completion::CompletionQueue& queue_;
  std::size_t live_ = 0;       // spawned tasks not finished
  std::size_t in_flight_ = 0;  // operations issued, completion not yet handed back
  std::uint64_t next_timer_ = 1;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::set<std::uint64_t> cancel_timers_;  // read_for deadlines not yet fired
  std::set<std::uint64_t> disarmed_;       // ... whose read completed first: dropped when they come up
  std::exception_ptr first_error_;

  std::set<void*> frames_;                     // the owning frames of spawned tasks not finished
  std::deque<std::coroutine_handle<>> ready_;  // resume_soon(): run at the start of the next turn
  void (*stop_fn_)(void*) = nullptr;
  void* stop_context_ = nullptr;
  bool stop_requested_ = false;

  static void started(Loop& loop, std::coroutine_handle<> frame);
  static void finished(Loop& loop, std::coroutine_handle<> frame, std::exception_ptr error);
};

namespace detail {
template <typename T>
Task<void> store_result(Task<T> task, std::optional<T>& out) {
  out.emplace(co_await std::move(task));
}
inline Task<void> store_done(Task<void> task, bool& done) {
  co_await std::move(task);
  done = true;
}
}  // namespace detail

template <typename T>
T Loop::run(Task<T> task) {
  if constexpr (std::is_void_v<T>) {
    bool done = false;
    spawn(detail::store_done(std::move(task), done));
    run();
  } else {
    std::optional<T> out;
    spawn(detail::store_result(std::move(task), out));
    run();
    return std::move(*out);
  }
}

}  // namespace evq::coro
