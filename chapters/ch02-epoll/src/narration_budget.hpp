// Internal: rationed narration for the echo servers. A demo with many clients would otherwise
// print thousands of steps; this tells the first few of each kind and then says it goes quiet.
// With no Narrator it does nothing, and wants() lets the hot path skip even formatting arguments.
#pragma once

#include <array>
#include <atomic>
#include <mutex>

#include "evq/common/narrate.hpp"

namespace evq::epoll::detail {

class NarrationBudget {
 public:
  enum Topic { accept, io, interest, close, kTopics };

  NarrationBudget(Narrator* narrator, int per_topic) : narrator_(narrator), limit_(per_topic) {}

  // Cheap, lock-free check: is a step on `topic` still going to be told? (A stale answer only
  // means one step more or less is printed.)
  bool wants(Topic topic) const {
    return narrator_ && told_[topic].load(std::memory_order_relaxed) <= limit_;
  }

  // Thread-safe: the multithreaded server's workers share one budget.
  template <typename... Args>
  void tell(Topic topic, fmt::format_string<Args...> format, Args&&... args) {
    if (!narrator_) return;
    std::lock_guard lock(mutex_);
    int told = told_[topic].load(std::memory_order_relaxed);
    if (told > limit_) return;
    told_[topic].store(told + 1, std::memory_order_relaxed);
    if (told == limit_) {
      narrator_->aside("further {} steps are not narrated", kNames[topic]);
      return;
    }
    narrator_->step(format, std::forward<Args>(args)...);
  }

 private:
  static constexpr const char* kNames[kTopics] = {"accept", "read/write", "epoll_ctl(MOD)", "close"};
  Narrator* narrator_;
  int limit_;
  std::mutex mutex_;
  std::array<std::atomic<int>, kTopics> told_{};
};

}  // namespace evq::epoll::detail
