// Task<T>: a lazy coroutine that produces a T (or throws), and is awaited by exactly one other
// coroutine (or run by the Loop). The machinery, each part where it is decided:
//   - lazy: initial_suspend never runs the body; the body starts when the task is awaited;
//   - the result: return_value stores a T, unhandled_exception stores the exception; await_resume
//     hands back the T or rethrows;
//   - the hand-over: co_await task runs the task at once; if it finishes without suspending, the
//     awaiter simply goes on (no suspension, no resume); if it suspends (it waits for I/O), the
//     awaiter suspends too, and the task's final_suspend resumes it later. One atomic flag decides
//     which of the two came second (see FinalAwaiter);
//   - ownership: the Task object owns the frame and destroys it in its destructor, started or not;
//     a frame suspended inside an I/O operation must not be destroyed (the Loop keeps those alive).
//
// Why not plain symmetric transfer (await_suspend returning the task's handle, final_suspend
// returning the awaiter's)? It is the textbook answer to "a million tasks that finish at once must
// not stack a million frames", but it relies on the compiler turning those returns into tail calls.
// Clang always does; GCC does only when optimising: in this repository's dev build (-O0 with
// sanitizers) the million-await test overflowed the stack with it. The flag below needs no tail call.
#pragma once

#include <atomic>
#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

namespace evq::coro {

template <typename T>
class Task;

namespace detail {

// What both promise types share: who to resume at the end, the exception if any, and the flag of
// the hand-over: whoever sets it second (the finished task, or the awaiter that suspended) knows
// the other is done with its part.
struct PromiseBase {
  std::coroutine_handle<> continuation = std::noop_coroutine();
  std::exception_ptr exception;
  std::atomic<bool> handed_over{false};

  std::suspend_always initial_suspend() noexcept { return {}; }  // lazy

  // [snippet final-awaiter]
  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> done) noexcept {
      PromiseBase& p = done.promise();
      // Second: the awaiter already suspended, waiting for us: continue with it.
      if (p.handed_over.exchange(true, std::memory_order_acq_rel)) return p.continuation;
      // First: we finished inside the awaiter's own co_await (no suspension at all): it goes on by
      // itself when that call returns, so nothing is resumed and no stack frame is added.
      return std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  // [/snippet final-awaiter]

  // The awaiter's half: run the task now; suspend only if it did not finish.
  bool start_from(std::coroutine_handle<> task, std::coroutine_handle<> awaiting) {
    continuation = awaiting;
    task.resume();
    return !handed_over.exchange(true, std::memory_order_acq_rel);  // false: finished, go on now
  }
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception = std::current_exception(); }
};

}  // namespace detail

template <typename T = void>
class [[nodiscard]] Task {
 public:
  struct promise_type : detail::PromiseBase {
    std::optional<T> value;
    Task get_return_object() { return Task(std::coroutine_handle<promise_type>::from_promise(*this)); }
    template <typename U>
    void return_value(U&& v) {
      value.emplace(std::forward<U>(v));
    }
  };

  Task(Task&& other) noexcept : frame_(std::exchange(other.frame_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (frame_) frame_.destroy();
      frame_ = std::exchange(other.frame_, {});
    }
    return *this;
  }
  ~Task() {
    if (frame_) frame_.destroy();  // a lazy task never started, or one that finished: both are safe
  }

  // [snippet task-awaiter]
  auto operator co_await() && noexcept {
    struct Awaiter {
      std::coroutine_handle<promise_type> task;
      bool await_ready() noexcept { return !task || task.done(); }
      bool await_suspend(std::coroutine_handle<> awaiting) {
        return task.promise().start_from(task, awaiting);
      }
      T await_resume() {
        if (task.promise().exception) std::rethrow_exception(task.promise().exception);
        return std::move(*task.promise().value);
      }
    };
    return Awaiter{frame_};
  }
  // [/snippet task-awaiter]

  bool done() const noexcept { return !frame_ || frame_.done(); }
  // For the Loop: the frame itself (release() hands ownership over).
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(frame_, {}); }

 private:
  explicit Task(std::coroutine_handle<promise_type> frame) : frame_(frame) {}
  std::coroutine_handle<promise_type> frame_;
};

template <>
class [[nodiscard]] Task<void> {
 public:
  struct promise_type : detail::PromiseBase {
    Task get_return_object() { return Task(std::coroutine_handle<promise_type>::from_promise(*this)); }
    void return_void() noexcept {}
  };

  Task(Task&& other) noexcept : frame_(std::exchange(other.frame_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (frame_) frame_.destroy();
      frame_ = std::exchange(other.frame_, {});
    }
    return *this;
  }
  ~Task() {
    if (frame_) frame_.destroy();
  }

  auto operator co_await() && noexcept {
    struct Awaiter {
      std::coroutine_handle<promise_type> task;
      bool await_ready() noexcept { return !task || task.done(); }
      bool await_suspend(std::coroutine_handle<> awaiting) {
        return task.promise().start_from(task, awaiting);
      }
      void await_resume() {
        if (task.promise().exception) std::rethrow_exception(task.promise().exception);
      }
    };
    return Awaiter{frame_};
  }

  bool done() const noexcept { return !frame_ || frame_.done(); }
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(frame_, {}); }

 private:
  explicit Task(std::coroutine_handle<promise_type> frame) : frame_(frame) {}
  std::coroutine_handle<promise_type> frame_;
};

}  // namespace evq::coro
