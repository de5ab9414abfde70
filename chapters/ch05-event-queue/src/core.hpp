// The shared state behind a Port (internal). One mutex guards everything; the rules of
// reference/002 are the small functions below, each called with the mutex held.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>
#include <span>
#include <vector>

#include "evq/port/packet.hpp"
#include "evq/port/trace.hpp"
#include "parker.hpp"

namespace evq::port::detail {

// One thread parked in get()/get_many(), on its own stack.
struct Waiter {
  explicit Waiter(Parker& own) : parker(own) {}
  Parker& parker;  // the waiting thread's own
  std::span<Packet> out;  // where a hand-off writes the packet(s)
  std::size_t count = 0;
  Wait status = Wait::timeout;
  bool handed = false;  // popped by another thread: a packet (or close) is on its way to us
};

class Core {
 public:
  explicit Core(unsigned concurrency_value) : concurrency(concurrency_value) {}

  // [snippet hand-off]
  // LIFO release with direct hand-off: if the cap allows one more running thread and a packet is
  // queued, the most recent waiter gets the oldest packet(s), and is counted as running from now.
  Waiter* hand_off_locked() {
    if (closed || running >= concurrency || queue.empty() || waiters.empty()) return nullptr;
    Waiter* chosen = waiters.back();  // the most recent waiter: LIFO
    waiters.pop_back();
    chosen->count = take_locked(chosen->out);  // the oldest packets: FIFO
    chosen->status = Wait::packet;
    chosen->handed = true;
    ++running;
    return chosen;
  }
  // [/snippet hand-off]

  std::size_t take_locked(std::span<Packet> out) {
    std::size_t n = 0;
    while (n < out.size() && !queue.empty()) {
      out[n++] = queue.front();
      queue.pop_front();
    }
    return n;
  }

  Trace* tracer() const { return trace.load(std::memory_order_acquire); }
  void note_counters_locked() const {
    if (Trace* t = tracer()) t->record_counters(running, waiters.size(), queue.size());
  }

  mutable std::mutex mutex;
  std::deque<Packet> queue;       // FIFO: push_back, pop_front
  std::vector<Waiter*> waiters;   // LIFO: back() is the most recent waiter
  const unsigned concurrency;
  unsigned running = 0;           // associated threads between get()'s return and their next get()
  bool closed = false;
  std::atomic<Trace*> trace{nullptr};
};

}  // namespace evq::port::detail
