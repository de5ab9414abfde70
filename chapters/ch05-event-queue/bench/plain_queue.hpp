// The baseline: the queue everyone writes first. One mutex, one condition variable shared by all
// consumers, notify_one() per push. No LIFO, no cap, no hand-off: whichever consumer the kernel
// wakes races the others (and the producer) for the mutex.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

namespace evq::port::bench {

class PlainQueue {
 public:
  void push(std::uint64_t value) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(value);
    }
    nonempty_.notify_one();
  }
  // Blocks until an item is there or close() was called.
  std::optional<std::uint64_t> pop() {
    std::unique_lock lock(mutex_);
    nonempty_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return std::nullopt;
    std::uint64_t v = items_.front();
    items_.pop_front();
    return v;
  }
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    nonempty_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable nonempty_;
  std::deque<std::uint64_t> items_;
  bool closed_ = false;
};

}  // namespace evq::port::bench
