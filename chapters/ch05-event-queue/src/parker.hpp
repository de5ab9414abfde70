// Parker: the private wait slot of one waiting thread (internal to the port).
//
// LIFO release with direct hand-off needs each waiter to sleep on something of its own: with one
// condition variable shared by all waiters, notify_one() wakes whichever thread the scheduler likes
// and the "most recent waiter first" rule is lost. So each parked thread owns a Parker (on its own
// stack), the port keeps a stack of them, and post() wakes exactly the one it chose.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace evq::port::detail {

class Parker {
 public:
  using Clock = std::chrono::steady_clock;

  // Sleeps until unpark() has been called or `deadline` passes; returns whether it was unparked.
  // Clock::time_point::max() waits for ever.
  bool park_until(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (deadline == Clock::time_point::max()) {
      ready_cv_.wait(lock, [&] { return ready_; });
      return true;
    }
    return ready_cv_.wait_until(lock, deadline, [&] { return ready_; });
  }

  // Wakes the parked thread. The notify happens under the Parker's own mutex on purpose: the
  // Parker lives on the waiter's stack, and the waiter cannot see ready_ (and return, destroying
  // the Parker) before this call has released the mutex and is done with the object.
  void unpark() {
    std::lock_guard lock(mutex_);
    ready_ = true;
    ready_cv_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_cv_;
  bool ready_ = false;
};

}  // namespace evq::port::detail
