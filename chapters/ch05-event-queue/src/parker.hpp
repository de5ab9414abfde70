// Parker: the private wait slot of one waiting thread (internal to the port).
//
// LIFO release with direct hand-off needs each waiter to sleep on something of its own: with one
// condition variable shared by all waiters, notify_one() wakes whichever thread the scheduler likes
// and the "most recent waiter first" rule is lost. So each thread owns a Parker (thread_local, reused
// by every get() it makes), the port keeps a stack of waiters, and post() wakes exactly the one it
// chose. A thread's Parker lives in its Association (association.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace evq::port::detail {

class Parker {
 public:
  using Clock = std::chrono::steady_clock;

  // Sleeps until unpark() has been called or `deadline` passes; returns whether it was unparked.
  // Clock::time_point::max() waits for ever. On return the Parker is ready for the next park.
  bool park_until(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    bool woken = deadline == Clock::time_point::max()
                     ? (ready_cv_.wait(lock, [&] { return ready_; }), true)
                     : ready_cv_.wait_until(lock, deadline, [&] { return ready_; });
    if (!woken) return false;
    ready_ = false;
    lock.unlock();
    // The unparker may still be inside unpark(), past the mutex. Wait for its last touch, so that
    // this Parker is never reused for the next wait, or destroyed by thread exit, under its hands.
    // (A real bug under Wine's threads, whose mutex unlock touches the object after releasing it.)
    while (!finished_.load(std::memory_order_acquire)) std::this_thread::yield();
    finished_.store(false, std::memory_order_relaxed);
    return true;
  }

  // Wakes the parked thread.
  void unpark() {
    {
      std::lock_guard lock(mutex_);
      ready_ = true;
      ready_cv_.notify_one();
    }
    finished_.store(true, std::memory_order_release);  // the last touch of this object
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_cv_;
  bool ready_ = false;
  std::atomic<bool> finished_{false};
};

}  // namespace evq::port::detail
