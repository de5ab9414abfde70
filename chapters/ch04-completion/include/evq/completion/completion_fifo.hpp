// The backends' queue of finished completions, waiting for wait() to hand them out. A std::deque
// would allocate and free a block every few completions on a busy server; this reuses one vector.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "evq/completion/completion.hpp"

namespace evq::completion {

class CompletionFifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  void push_back(Completion&& c) { items_.push_back(std::move(c)); }
  Completion& front() { return items_[head_]; }
  void pop_front() {
    if (++head_ == items_.size()) {  // drained: start again at the front, keeping the capacity
      items_.clear();
      head_ = 0;
    } else if (head_ >= 1024 && head_ * 2 >= items_.size()) {  // never drained: drop the taken half
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

 private:
  std::vector<Completion> items_;
  std::size_t head_ = 0;
};

}  // namespace evq::completion
