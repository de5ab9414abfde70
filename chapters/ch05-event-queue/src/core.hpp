// The shared state behind a Port (internal). One lock, `state_lock`, guards the rules of
// Microsoft's "I/O Completion Ports" (the queue, the waiter stack, the running count), and the small functions below
// are called with it held. post() usually does not take it: it appends to a producer-side inbox
// that has a lock of its own and looks at one atomic flag, `release_possible`, which says whether
// any thread could be released right now. Only then does post() take `state_lock` to hand the
// packet off. Both locks are SpinLocks (spin_lock.hpp): nothing sleeps while holding them.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>  // std::lock_guard
#include <span>
#include <vector>

#include "evq/port/packet.hpp"
#include "evq/port/trace.hpp"
#include "packet_queue.hpp"
#include "parker.hpp"
#include "spin_lock.hpp"

namespace evq::port::detail {

inline constexpr std::size_t kCacheLine = 64;  // x86-64 and most ARM cores

// One thread parked in get()/get_many(), on its own stack.
struct Waiter {
  explicit Waiter(Parker& own) : parker(own) {}
  Parker& parker;         // the waiting thread's own
  std::span<Packet> out;  // where a hand-off writes the packet(s)
  std::size_t count = 0;
  Wait status = Wait::timeout;
  bool handed = false;            // popped by another thread: a packet (or close) is on its way to us
  Waiter* next_chosen = nullptr;  // Chosen's link
};

// The waiters a critical section chose, to be woken once its lock is released. An intrusive list
// through the waiters themselves (they live on their threads' stacks), so a hand-off allocates
// nothing. Woken in the order they were chosen.
class Chosen {
 public:
  void add(Waiter* w) {
    w->next_chosen = nullptr;
    (head_ ? tail_->next_chosen : head_) = w;
    tail_ = w;
  }
  bool empty() const { return head_ == nullptr; }
  // Call without the lock. A woken waiter may return and its frame vanish at once, so each link is
  // read before its waiter is woken.
  void unpark_all() {
    for (Waiter* w = head_; w;) {
      Waiter* next = w->next_chosen;
      w->parker.unpark();  // after this, `w` may be gone
      w = next;
    }
    head_ = tail_ = nullptr;
  }

 private:
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
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

  // [snippet settle]
  // The last step of every critical section that may let a waiter run (a post() that found
  // `release_possible` set, a thread that parks, leaves or opens a BlockingScope): move the inbox
  // into the queue, release every waiter the rules allow, then publish whether post() must come
  // here. A post() reads the flag after unlocking the inbox, and we re-check the inbox after setting
  // it; the inbox lock orders the two, so either we see its packet or it sees the flag.
  void settle_locked(Chosen& chosen) {
    for (;;) {
      drain_inbox_locked();
      while (Waiter* w = hand_off_locked()) chosen.add(w);
      const bool possible = !closed && running < concurrency && !waiters.empty();
      release_possible.store(possible);
      if (!possible) return;  // a running thread's next get() will find what is queued
      std::lock_guard in(inbox_lock);
      if (inbox.empty()) return;  // a later post() sees the flag and comes here itself
    }
  }
  // [/snippet settle]

  // post()'s half of the inbox: appends `packet`, or returns false once close() has run.
  bool add_to_inbox(const Packet& packet) {
    std::lock_guard in(inbox_lock);
    if (inbox_closed) return false;
    inbox.push_back(packet);  // FIFO: the inbox is drained to the back of the queue
    return true;
  }

  // Appends everything posted since the last drain to the FIFO queue; its packets are all newer.
  void drain_inbox_locked() {
    std::lock_guard in(inbox_lock);
    queue.append(inbox);  // usually a swap of two buffers: see packet_queue.hpp
  }

  std::size_t take_locked(std::span<Packet> out) { return queue.take(out); }

  // Tracing (trace.hpp): each call site is one line, so that the notes can show the port's code
  // without them (their snippets are marked hide=traced). With no Trace attached, a load and a branch.
  Trace* tracer() const { return trace.load(std::memory_order_acquire); }
  void traced(Trace::Kind kind, std::uint64_t key = 0) const {
    if (Trace* t = tracer()) t->record(kind, key);
  }
  // The same, followed by the counters as they are now: call it with `state_lock` held.
  void traced_locked(Trace::Kind kind, std::uint64_t key = 0) const {
    if (Trace* t = tracer()) {
      t->record(kind, key);
      note_counters_locked();
    }
  }
  void note_counters_locked() const {
    if (Trace* t = tracer()) t->record_counters(running, waiters.size(), queue.size());
  }

  // Three groups, each on cache lines of its own. Were the producer's inbox next to `running`,
  // every get() would take the line away from the core that post()s (false sharing), and a post()
  // would cost a cache miss even on its fast path. Lock order: `state_lock`, then `inbox_lock`.

  // Read on every call, written rarely.
  alignas(kCacheLine) std::atomic<bool> release_possible{false};  // !closed && running <
      // concurrency && waiters nonempty, as of the last settle_locked()
  std::atomic<Trace*> trace{nullptr};
  const unsigned concurrency;

  // The rules of [MS-IOCP] (notes/references.md), guarded by `state_lock`.
  alignas(kCacheLine) mutable SpinLock state_lock;
  PacketQueue queue;             // FIFO: the oldest packet leaves first
  std::vector<Waiter*> waiters;  // LIFO: back() is the most recent waiter
  unsigned running = 0;          // associated threads between get()'s return and their next get()
  bool closed = false;

  // The producer side, guarded by `inbox_lock`: all that post()'s fast path writes.
  alignas(kCacheLine) mutable SpinLock inbox_lock;
  std::vector<Packet> inbox;  // posted, not yet in `queue`; oldest first
  bool inbox_closed = false;  // close() sets it under both locks; post() checks it here
};

}  // namespace evq::port::detail
