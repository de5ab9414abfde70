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

template <typename T = void>
class Task;

namespace detail {

// What every promise shares: who to resume at the end, the exception if any, and the flag of the
// hand-over: whoever sets it second (the finished task, or the awaiter that suspended) knows the
// other is done with its part.
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
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception = std::current_exception(); }
  void rethrow_if_failed() const {
    if (exception) std::rethrow_exception(exception);
  }

  // The awaiter's half: run the task now; suspend only if it did not finish.
  bool start_from(std::coroutine_handle<> task, std::coroutine_handle<> awaiting) {
    continuation = awaiting;
    task.resume();
    return !handed_over.exchange(true, std::memory_order_acq_rel);  // false: finished, go on now
  }
};

// A task's promise: where its value waits for the awaiter (none for Task<void>).
template <typename T>
struct Promise : PromiseBase {
  std::optional<T> value;
  Task<T> get_return_object();
  template <typename U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T take() {
    rethrow_if_failed();
    return std::move(*value);
  }
};

template <>
struct Promise<void> : PromiseBase {
  Task<void> get_return_object();
  void return_void() noexcept {}
  void take() const { rethrow_if_failed(); }
};

}  // namespace detail

template <typename T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::Promise<T>;

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
      // Runs the task now; suspends only if the task did (false: it finished, go on at once).
      bool await_suspend(std::coroutine_handle<> awaiting) {
        return task.promise().start_from(task, awaiting);
      }
      T await_resume() { return task.promise().take(); }  // the value, or the task's exception
    };
    return Awaiter{frame_};
  }
  // [/snippet task-awaiter]

  bool done() const noexcept { return !frame_ || frame_.done(); }

 private:
  friend promise_type;
  explicit Task(std::coroutine_handle<promise_type> frame) : frame_(frame) {}
  std::coroutine_handle<promise_type> frame_;
};

namespace detail {
template <typename T>
Task<T> Promise<T>::get_return_object() {
  return Task<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Task<void> Promise<void>::get_return_object() {
  return Task<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}
}  // namespace detail

}  // namespace evq::coro
