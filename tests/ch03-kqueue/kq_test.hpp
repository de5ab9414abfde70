// Helpers for chapter 3's tests: bounded waits on a Kqueue, and a note saying where the test runs.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <vector>

#include "evq/kq/describe.hpp"
#include "evq/kq/kqueue.hpp"
#include "evq/test/support.hpp"

namespace evq::kq::test {

using namespace std::chrono_literals;

// Every test case says where it runs: on Linux the kqueue underneath is the project's emulation.
#ifdef EVQ_KQUEUE_DIALECT
#define EVQ_KQ_DIALECT_NAME EVQ_KQUEUE_DIALECT
#else
#define EVQ_KQ_DIALECT_NAME "the system's"
#endif
#define EVQ_KQ_PLATFORM_NOTE()                                                                \
  do {                                                                                        \
    if (::evq::kq::kEmulated)                                                                 \
      MESSAGE(                                                                                \
          "running on the project's kqueue EMULATION over epoll (Linux), not a real kqueue; " \
          "its <sys/event.h> is the " EVQ_KQ_DIALECT_NAME " dialect");                        \
  } while (0)

// What is pending right now (a zero timeout: never blocks).
inline std::vector<struct kevent> pending(Kqueue& kq, std::size_t slots = 32) {
  std::vector<struct kevent> events(slots);
  events.resize(kq.wait(events, 0ns));
  return events;
}

// Waits (up to the test deadline) for an event of (ident, filter); other events are dropped.
inline std::optional<struct kevent> wait_for(Kqueue& kq, uintptr_t ident, short filter,
                                             std::chrono::milliseconds deadline = evq::test::kDeadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  std::vector<struct kevent> events(32);
  while (std::chrono::steady_clock::now() < until) {
    auto left =
        std::chrono::duration_cast<std::chrono::nanoseconds>(until - std::chrono::steady_clock::now());
    std::size_t n = kq.wait(events, std::max(left, std::chrono::nanoseconds(0)));
    for (std::size_t i = 0; i < n; ++i)
      if (events[i].ident == ident && events[i].filter == filter) return events[i];
  }
  return std::nullopt;
}

// How many events of (ident, filter) are pending right now.
inline int count_pending(Kqueue& kq, uintptr_t ident, short filter) {
  int count = 0;
  for (const struct kevent& ev : pending(kq))
    if (ev.ident == ident && ev.filter == filter) ++count;
  return count;
}

// Applies one change with EV_RECEIPT and returns its answer: 0, or the errno it was refused with.
inline std::int64_t answer(Kqueue& kq, struct kevent change) {
  change.flags |= EV_RECEIPT;
  struct kevent reply {};
  std::size_t n = kq.kevent(std::span(&change, 1), std::span(&reply, 1), 0ns);
  REQUIRE_MESSAGE(n == 1, "EV_RECEIPT must always produce one answer");
  REQUIRE_MESSAGE((reply.flags & EV_ERROR), "a receipt is an EV_ERROR entry, got " << describe(reply));
  return reply.data;
}

inline uintptr_t id(int fd) {
  return static_cast<uintptr_t>(fd);
}

// Returns once a timer of `delay_ms`, armed now on a kqueue of its own, has fired: every timer armed
// before this call with a shorter delay has then expired too (both run on the monotonic clock). This
// lets tests reason about expirations without sleeping and without asserting how long anything took.
inline void wait_at_least_ms(std::int64_t delay_ms) {
  Kqueue sentinel;
  sentinel.apply(change(1, EVFILT_TIMER, EV_ADD | EV_ONESHOT, kNoteMilliseconds, delay_ms));
  REQUIRE_MESSAGE(wait_for(sentinel, 1, EVFILT_TIMER), "the sentinel timer never fired");
}

}  // namespace evq::kq::test
