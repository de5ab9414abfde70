// SpinLock: the port's two locks (internal): `state_lock` around the rules, `inbox_lock` around
// the producer's inbox (core.hpp).
//
// Both guard a few nanoseconds of work: a push_back, a swap of two vectors, a counter and a pop.
// Nothing sleeps while holding either (a waiting thread sleeps on its own Parker, after unlocking).
// For such sections a std::mutex costs two atomic read-modify-writes (lock, and unlock, which must
// learn whether anyone sleeps on it) and, when two threads meet, a trip into the kernel; this lock
// costs one exchange and a plain store. The benchmark in notes/ch05 shows the difference. A thread
// that finds it taken yields its CPU instead of spinning hard: on a machine with more threads than
// cores the holder may be the very thread that needs the CPU.
// It orders critical sections as a mutex does: an unlock happens before the next lock.
#pragma once

#include <atomic>
#include <thread>

namespace evq::port::detail {

class SpinLock {
 public:
  void lock() {
    while (locked_.exchange(true, std::memory_order_acquire))
      while (locked_.load(std::memory_order_relaxed)) std::this_thread::yield();
  }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace evq::port::detail
