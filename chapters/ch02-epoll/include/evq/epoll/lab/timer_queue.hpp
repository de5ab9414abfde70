// Lab "timer_queue": timers for an epoll loop, built on ONE timerfd.
//
// An event loop needs timeouts (an idle connection, a retry, a heartbeat), but epoll only waits
// for file descriptors. timerfd_create(2) turns a timer into one: it becomes readable when it
// expires. This queue keeps any number of timers in deadline order and arms the single timerfd
// for the earliest one; the loop registers fd() with EPOLLIN and calls on_readable() when told.
//
//   TimerQueue timers;
//   poll.registry().add(timers.fd(), kTimerToken, EPOLLIN);
//   timers.add(250ms, [] { fmt::print("a quarter second later\n"); });
//   ... in the loop: if (event.token == kTimerToken) timers.on_readable();
//
// You write: exercises/ch02-epoll/timer_queue.cpp. Handout: notes/ch02-epoll.md, "Lab 1".
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

namespace evq::epoll::lab {

using TimerId = std::uint64_t;

class TimerQueue {
 public:
  // On Linux, steady_clock is CLOCK_MONOTONIC: the clock the timerfd should use.
  using Clock = std::chrono::steady_clock;
  using Callback = std::function<void()>;

  // timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC); no timer armed.
  TimerQueue();
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // The timerfd. Register it with EPOLLIN; it is readable when the earliest timer is due.
  int fd() const;

  // Runs `callback` from on_readable() once `delay` has passed (a delay of 0 means "on the next
  // turn of the loop"). Timers with equal deadlines fire in the order they were added.
  // Returns an id for cancel(); ids are never reused.
  TimerId add(Clock::duration delay, Callback callback);

  // Forgets a pending timer. Returns true if it was pending, false if it already fired, was
  // cancelled before, or never existed.
  bool cancel(TimerId id);

  // Call when epoll reports fd() readable: consumes the expiration, runs every timer that is due,
  // earliest first, and re-arms the timerfd for the next one (or disarms it when none is left).
  // Callbacks may add and cancel timers; a timer added by a callback never runs in the same call.
  // Returns how many callbacks ran.
  std::size_t on_readable();

  // Timers waiting to fire.
  std::size_t pending() const;
  // The earliest pending deadline, if any.
  std::optional<Clock::time_point> next_deadline() const;

 private:
  struct State;  // yours to define in timer_queue.cpp
  std::unique_ptr<State> state_;
};

}  // namespace evq::epoll::lab
