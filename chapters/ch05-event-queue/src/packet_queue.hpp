// PacketQueue: the port's FIFO of queued packets (internal).
//
// A vector and a read position rather than a std::deque, so that moving the producer's inbox in
// is usually a swap of two vectors: when the queue has run dry, the inbox's buffer *becomes* the
// queue, and the queue's old (empty, still allocated) buffer goes back to the producer. No packet
// is copied and nothing is allocated in the steady state.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "evq/port/packet.hpp"

namespace evq::port::detail {

class PacketQueue {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }

  // Moves every packet of `newer` to the back; `newer` is left empty (with a buffer to reuse).
  void append(std::vector<Packet>& newer) {
    if (empty()) {
      items_.clear();
      head_ = 0;
      items_.swap(newer);  // the common case: O(1)
    } else {
      items_.erase(items_.begin(),
                   items_.begin() + static_cast<std::ptrdiff_t>(head_));  // reuse the taken prefix
      head_ = 0;
      items_.insert(items_.end(), newer.begin(), newer.end());
      newer.clear();
    }
  }

  // Copies up to out.size() of the oldest packets into `out` and removes them; returns how many.
  std::size_t take(std::span<Packet> out) {
    std::size_t n = 0;
    while (n < out.size() && head_ < items_.size()) out[n++] = items_[head_++];
    return n;
  }

  // Drops every packet and frees the buffer; returns how many were dropped.
  std::size_t drop_all() {
    std::size_t n = size();
    std::vector<Packet>().swap(items_);
    head_ = 0;
    return n;
  }

 private:
  std::vector<Packet> items_;
  std::size_t head_ = 0;  // items_[head_] is the oldest queued packet
};

}  // namespace evq::port::detail
