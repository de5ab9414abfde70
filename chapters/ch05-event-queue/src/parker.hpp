// Parker: the private wait slot of one waiting thread (internal to the port).
//
// LIFO release with direct hand-off needs each waiter to sleep on something of its own: with one
// condition variable shared by all waiters, notify_one() wakes whichever thread the scheduler likes
// and the "most recent waiter first" rule is lost. So each thread owns a Parker (reused by every
// get() it makes), the port keeps a stack of waiters, and post() wakes exactly the one it chose.
// A thread's Parker lives in its Association (association.hpp).
//
// Parking is a hand-off's most expensive step, so it is built for the common cases:
//  - the packet is often on its way already (a reply to a request this thread just sent): the
//    waiter first spins for a short, bounded, adaptive while (spin_budget.hpp) watching its word;
//  - otherwise it sleeps on that word with the kernel's futex-class wait (wait_on_address.hpp);
//  - unpark() makes a system call only when the waiter really sleeps.
// The word is the whole protocol, so the waker's last touch is one atomic exchange: the waiter
// may return, reuse or free its Parker the moment it sees kNotified, and the waker never needs to
// say "I am done with you" (the handshake the condition-variable version, below, still needs).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "spin_budget.hpp"
#include "wait_on_address.hpp"

namespace evq::port::detail {

// One iteration of a spin: tells the CPU we are waiting (frees the sibling hyperthread, saves power).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield");
#endif
}

// Spins until `word` holds `wanted` or `until` passes; reads the clock once every 16 looks.
inline bool spin_until_equal(const std::atomic<std::uint32_t>& word, std::uint32_t wanted,
                             std::chrono::steady_clock::time_point until) {
  for (unsigned i = 0;; ++i) {
    if (word.load(std::memory_order_acquire) == wanted) return true;
    if (i % 16 == 15 && std::chrono::steady_clock::now() >= until) return false;
    cpu_relax();
  }
}

#if EVQ_PORT_HAVE_ADDRESS_WAIT
// [snippet futex-parker]
class FutexParker {
 public:
  using Clock = std::chrono::steady_clock;

  // Waits until unpark() has been called or `deadline` passes; returns whether it was unparked.
  // Clock::time_point::max() waits for ever. On return the Parker is ready for the next park.
  bool park_until(Clock::time_point deadline) {
    const SpinBudget::Duration limit = spin_limit(), spin = budget_.current(limit);
    std::uint32_t seen = kIdle;
    if (spin > SpinBudget::Duration::zero() &&
        spin_until_equal(state_, kNotified, std::min(deadline, Clock::now() + spin))) {
      budget_.caught_while_spinning(limit);
      return consume();
    }
    if (!state_.compare_exchange_strong(seen, kSleeping, std::memory_order_acquire)) {
      budget_.caught_while_spinning(limit);  // unparked between the last look and the sleep
      return consume();
    }
    const Clock::time_point slept_at = Clock::now();
    for (;;) {
      const bool before_deadline = wait_on_address(state_, kSleeping, deadline);
      if (state_.load(std::memory_order_acquire) == kNotified) break;
      if (!before_deadline || Clock::now() >= deadline) {
        seen = kSleeping;
        if (state_.compare_exchange_strong(seen, kIdle, std::memory_order_acquire)) {
          budget_.slept(Clock::now() - slept_at, limit);
          return false;  // withdrawn: an unpark() from now on finds kIdle and wakes nobody
        }
        break;  // unparked at the deadline: the wake counts
      }
    }
    learn_from_sleep(slept_at, limit);
    return consume();
  }

  // Wakes the parked thread (or makes its next park return at once).
  void unpark() {
    // A sleeper learns from this stamp what its wake cost and when its packet came; it is written
    // before the exchange, because after it the Parker may be gone. (Racy by design: a thread that
    // falls asleep just after this look has no stamp, and learns less from that one sleep.)
    if (state_.load(std::memory_order_relaxed) == kSleeping)
      unparked_at_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    if (state_.exchange(kNotified, std::memory_order_release) == kSleeping)
      wake_one_waiter(state_);  // passes the address only: the Parker may be gone already
  }
  // [/snippet futex-parker]

  // How long this thread's next park may spin (tests, and the benchmark's curve).
  SpinBudget::Duration spin_budget() const { return budget_.current(spin_limit()); }

 private:
  enum : std::uint32_t { kIdle = 0, kSleeping = 1, kNotified = 2 };

  bool consume() {
    state_.store(kIdle, std::memory_order_relaxed);         // only this thread moves it back to idle
    if (unparked_at_.load(std::memory_order_relaxed) != 0)  // a stamp for a sleep we withdrew from
      unparked_at_.store(0, std::memory_order_relaxed);
    return true;
  }

  // After a sleep that ended in a wake: how long after falling asleep the packet came (a near
  // miss, or spinning would not have helped?), and what the wake itself cost this machine.
  void learn_from_sleep(Clock::time_point slept_at, SpinBudget::Duration limit) {
    const Clock::time_point now = Clock::now();
    const Clock::rep stamp = unparked_at_.exchange(0, std::memory_order_relaxed);
    if (stamp == 0) {
      budget_.slept(now - slept_at, limit);  // no stamp: judge by when we woke
      return;
    }
    const Clock::time_point unparked_at{Clock::duration(stamp)};
    budget_.slept(unparked_at - slept_at, limit);
    note_wake_cost(now - unparked_at);
  }

  std::atomic<std::uint32_t> state_{kIdle};
  std::atomic<Clock::rep> unparked_at_{0};  // steady_clock ticks of the last unpark() of a sleeper
  SpinBudget budget_;                       // touched only by the owning thread
};
#endif

// The same contract over a mutex and a condition variable, for systems without an address wait
// (macOS, FreeBSD). It spins the same way first. Its waker must touch the mutex after setting the
// flag, so the waiter waits for the waker's last touch before it returns (`finished_`): under Wine,
// whose mutex unlock touched the object after releasing it, a reused Parker crashed without that.
class CondvarParker {
 public:
  using Clock = std::chrono::steady_clock;

  bool park_until(Clock::time_point deadline) {
    const SpinBudget::Duration limit = spin_limit(), spin = budget_.current(limit);
    bool woken = spin > SpinBudget::Duration::zero() &&
                 spin_until_equal(finished_, 1, std::min(deadline, Clock::now() + spin));
    if (woken) {
      budget_.caught_while_spinning(limit);
    } else {
      const Clock::time_point slept_at = Clock::now();
      std::unique_lock lock(mutex_);
      woken = deadline == Clock::time_point::max()
                  ? (ready_cv_.wait(lock, [&] { return ready_; }), true)
                  : ready_cv_.wait_until(lock, deadline, [&] { return ready_; });
      budget_.slept(Clock::now() - slept_at, limit);
    }
    if (!woken) return false;
    {
      std::lock_guard lock(mutex_);
      ready_ = false;
    }
    while (finished_.load(std::memory_order_acquire) == 0) std::this_thread::yield();
    finished_.store(0, std::memory_order_relaxed);
    return true;
  }

  void unpark() {
    {
      std::lock_guard lock(mutex_);
      ready_ = true;
      ready_cv_.notify_one();
    }
    finished_.store(1, std::memory_order_release);  // the last touch of this object
  }

  SpinBudget::Duration spin_budget() const { return budget_.current(spin_limit()); }

 private:
  std::mutex mutex_;
  std::condition_variable ready_cv_;
  bool ready_ = false;
  std::atomic<std::uint32_t> finished_{0};
  SpinBudget budget_;
};

#if EVQ_PORT_HAVE_ADDRESS_WAIT
using Parker = FutexParker;
#else
using Parker = CondvarParker;
#endif

}  // namespace evq::port::detail
