// The backends' queue of finished completions, waiting for wait() to hand them out. All three
// backends fill it the same way (an operation ended, or a post arrived) and empty it the same way
// (wait() moves the oldest into the caller's span). A std::deque would allocate and free a block
// every few completions on a busy server; this reuses one vector.
#pragma once

#include <cstddef>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include "evq/completion/completion.hpp"

namespace evq::completion {

class CompletionFifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }

  // An operation ended. `op` is the backend's own record of it: any type with `user_data` and `op`.
  template <typename Operation>
  void finish(const Operation& op, std::size_t bytes, std::error_code error, OwnedSocket accepted = {}) {
    Completion& c = items_.emplace_back();
    c.user_data = op.user_data;
    c.op = op.op;
    c.bytes = bytes;
    c.error = error;
    c.accepted = std::move(accepted);
  }

  // A post() arrived: a completion that no operation started.
  void posted(UserData user_data, std::size_t bytes) {
    Completion& c = items_.emplace_back();
    c.user_data = user_data;
    c.op = Op::post;
    c.bytes = bytes;
  }

  struct HandedOut {
    std::size_t count = 0;       // completions written to `out`
    std::size_t operations = 0;  // of them, operations (not posts): each ends one pending()
  };
  // Moves up to out.size() completions, oldest first, into `out`.
  HandedOut hand_out(std::span<Completion> out) {
    HandedOut h;
    while (h.count < out.size() && !empty()) {
      if (items_[head_].op != Op::post) ++h.operations;
      out[h.count++] = std::move(items_[head_]);
      pop_front();
    }
    return h;
  }

 private:
  void pop_front() {
    if (++head_ == items_.size()) {  // drained: start again at the front, keeping the capacity
      items_.clear();
      head_ = 0;
    } else if (head_ >= 1024 && head_ * 2 >= items_.size()) {  // never drained: drop the taken half
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  std::vector<Completion> items_;
  std::size_t head_ = 0;
};

}  // namespace evq::completion
