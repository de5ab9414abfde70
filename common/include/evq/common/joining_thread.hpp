// A std::thread that joins when it goes out of scope, for the code that runs on macOS too:
// std::jthread is missing from libc++ before LLVM 20 (and so from Apple's clang for now). It has no
// stop token; the book's threads end by themselves (a client finishes, a server is stopped).
#pragma once

#include <thread>
#include <utility>

namespace evq {

class JoiningThread {
 public:
  JoiningThread() noexcept = default;
  template <typename F, typename... Args>
  explicit JoiningThread(F&& f, Args&&... args) : thread_(std::forward<F>(f), std::forward<Args>(args)...) {}
  JoiningThread(JoiningThread&&) noexcept = default;
  JoiningThread& operator=(JoiningThread&& other) noexcept {
    if (this != &other) {
      join();
      thread_ = std::move(other.thread_);
    }
    return *this;
  }
  ~JoiningThread() { join(); }

  void join() {
    if (thread_.joinable()) thread_.join();
  }
  bool joinable() const noexcept { return thread_.joinable(); }

 private:
  std::thread thread_;
};

}  // namespace evq
