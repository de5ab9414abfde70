// The queues bench_port compares, each behind the same three calls, so one measurement loop runs
// them all:
//   push(v)        hand v to a consumer (v is never kClosed)
//   pop(v)         wait for a value; false once the queue is closed
//   close(n)       end the n consumers that may be waiting in pop()
// The peers are what a reader would pick instead of writing a port: a mutex + condvar queue (the
// one everybody writes first), moodycamel's BlockingConcurrentQueue (lock-free, spins briefly before
// it sleeps on a semaphore), oneTBB's concurrent_bounded_queue, and an eventfd pair (not a queue at
// all: the kernel's cheapest cross-thread wake, the floor for a hand-off that sleeps).
#pragma once

#include <cstdint>
#include <stdexcept>

#include "evq/port/port.hpp"
#include "plain_queue.hpp"

#if EVQ_BENCH_HAVE_MOODYCAMEL
#include <concurrentqueue/blockingconcurrentqueue.h>
#endif
#if EVQ_BENCH_HAVE_TBB
#include <tbb/concurrent_queue.h>
#endif
#if defined(__linux__)
#include <sys/eventfd.h>
#include <unistd.h>

#include "evq/common/error.hpp"
#include "evq/common/unique_fd.hpp"
#endif

namespace evq::port::bench {

inline constexpr std::uint64_t kClosed = ~std::uint64_t{0};  // the sentinel that ends a consumer

// This chapter's port: post() and get().
class PortQueue {
 public:
  explicit PortQueue(unsigned concurrency) : port_(concurrency) {}
  void push(std::uint64_t v) { port_.post(v); }
  bool pop(std::uint64_t& v) {
    GetResult r = port_.get();
    if (!r.got()) return false;
    v = r.packet.key;
    return true;
  }
  void close(unsigned) { port_.close(); }

 private:
  Port port_;
};

// The same port taken GetQueuedCompletionStatusEx's way: up to 16 packets per get_many(), handed
// out one at a time from this thread's batch.
class PortExQueue {
 public:
  explicit PortExQueue(unsigned concurrency) : port_(concurrency) {}
  void push(std::uint64_t v) { port_.post(v); }
  bool pop(std::uint64_t& v) {
    Batch& b = batch();
    if (b.next == b.count) {
      Port::ManyResult r = port_.get_many(b.packets);
      if (r.status != Wait::packet) return false;
      b.count = r.count;
      b.next = 0;
    }
    v = b.packets[b.next++].key;
    return true;
  }
  void close(unsigned) { port_.close(); }

 private:
  struct Batch {
    Packet packets[16];
    std::size_t count = 0, next = 0;
  };
  static Batch& batch() {
    thread_local Batch b;  // each consumer thread has its own; the benchmark's threads are new per run
    return b;
  }
  Port port_;
};

class PlainQueueAdapter {
 public:
  explicit PlainQueueAdapter(unsigned) {}
  void push(std::uint64_t v) { queue_.push(v); }
  bool pop(std::uint64_t& v) {
    auto got = queue_.pop();
    if (!got) return false;
    v = *got;
    return true;
  }
  void close(unsigned) { queue_.close(); }

 private:
  PlainQueue queue_;
};

#if EVQ_BENCH_HAVE_MOODYCAMEL
class MoodycamelQueue {
 public:
  explicit MoodycamelQueue(unsigned) {}
  void push(std::uint64_t v) { queue_.enqueue(v); }
  bool pop(std::uint64_t& v) {
    queue_.wait_dequeue(v);
    return v != kClosed;
  }
  void close(unsigned consumers) {
    for (unsigned i = 0; i < consumers; ++i) queue_.enqueue(kClosed);
  }

 private:
  moodycamel::BlockingConcurrentQueue<std::uint64_t> queue_;
};
#endif

#if EVQ_BENCH_HAVE_TBB
class TbbQueue {
 public:
  explicit TbbQueue(unsigned) {}
  void push(std::uint64_t v) { queue_.push(v); }
  bool pop(std::uint64_t& v) {
    queue_.pop(v);
    return v != kClosed;
  }
  void close(unsigned consumers) {
    for (unsigned i = 0; i < consumers; ++i) queue_.push(kClosed);
  }

 private:
  tbb::concurrent_bounded_queue<std::uint64_t> queue_;
};
#endif

#if defined(__linux__)
// Not a queue: a counter in the kernel. write() adds to it and wakes a reader blocked in read(),
// which takes the whole count. With one value in flight at a time (the ping-pong), that is a
// hand-off whose every wait sleeps in the kernel: the cost of a cross-thread wake, and nothing else.
class EventfdPair {
 public:
  explicit EventfdPair(unsigned) : fd_(::eventfd(0, EFD_CLOEXEC)) {
    if (!fd_) throw_errno("eventfd");
  }
  void push(std::uint64_t v) { write_count(v + 1); }  // eventfd refuses a write of 0
  bool pop(std::uint64_t& v) {
    std::uint64_t count = 0;
    if (::read(fd_.get(), &count, sizeof count) != static_cast<ssize_t>(sizeof count))
      throw_errno("read(eventfd)");
    if (count == kClosed - 1) return false;
    v = count - 1;
    return true;
  }
  void close(unsigned) { write_count(kClosed - 1); }  // the largest count eventfd takes

 private:
  void write_count(std::uint64_t count) {
    if (::write(fd_.get(), &count, sizeof count) != static_cast<ssize_t>(sizeof count))
      throw_errno("write(eventfd)");
  }
  UniqueFd fd_;
};
#endif

}  // namespace evq::port::bench
