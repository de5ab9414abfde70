// PostBox: where post() leaves its completions for the thread in wait() (the epoll, kqueue and
// io_uring backends; IOCP has PostQueuedCompletionStatus instead).
//
// post() may be called from any thread, while wait() owns the rest of the queue's state; so a post
// goes into this small box under its own mutex, the backend wakes the waiting thread (an eventfd, a
// user event), and wait() moves the box's contents into its CompletionFifo. The flag spares wait()
// the mutex on every call when nothing was posted.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

#include "evq/completion/completion_fifo.hpp"

namespace evq::completion {

class PostBox {
 public:
  // Any thread. The caller then wakes the thread in wait().
  void add(UserData user_data, std::size_t bytes) {
    {
      std::lock_guard lock(mutex_);
      posts_.emplace_back(user_data, bytes);
    }
    waiting_.store(true, std::memory_order_release);
  }

  // The waiting thread: moves every post so far into `ready`, oldest first.
  void take_into(CompletionFifo& ready) {
    if (!waiting_.exchange(false, std::memory_order_acquire)) return;
    {
      std::lock_guard lock(mutex_);
      taken_.swap(posts_);
    }
    for (auto [user_data, bytes] : taken_) ready.posted(user_data, bytes);
    taken_.clear();  // keeps its capacity for the next swap
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<UserData, std::size_t>> posts_;  // guarded by mutex_
  std::vector<std::pair<UserData, std::size_t>> taken_;  // the waiting thread's own
  std::atomic<bool> waiting_{false};
};

}  // namespace evq::completion
