// Timeouts of any length, without overflow.
//
// `now() + timeout` overflows for a caller's "wait for ever" spelled as milliseconds::max() (or just
// a very long wait in nanoseconds), and signed overflow is undefined: in practice the deadline lands
// in the past and the wait returns "timed out" at once. Every API in the book that takes a timeout
// goes through these, so a long timeout is simply a long wait.
#pragma once

#include <chrono>
#include <climits>
#include <optional>

namespace evq {

// A duration in another unit, clamped to what that unit can hold (duration_cast would overflow).
template <typename To, typename Rep, typename Period>
To saturating_duration_cast(std::chrono::duration<Rep, Period> d) {
  using Wide = std::chrono::duration<long double, typename To::period>;
  const Wide wide = std::chrono::duration_cast<Wide>(d);  // in floating point: cannot overflow
  if (wide >= Wide(To::max())) return To::max();
  if (wide <= Wide(To::min())) return To::min();
  return std::chrono::duration_cast<To>(d);  // in range, so exact
}

// `now + timeout`, or the clock's last time point if that would not fit (`now` if timeout <= 0).
template <typename Clock, typename Rep, typename Period>
typename Clock::time_point deadline_after(typename Clock::time_point now,
                                          std::chrono::duration<Rep, Period> timeout) {
  if (timeout <= timeout.zero()) return now;
  const auto room = Clock::time_point::max() - now;  // how far the clock can still count
  const auto step = saturating_duration_cast<typename Clock::duration>(timeout);
  return step >= room ? Clock::time_point::max() : now + step;
}

// The `int` milliseconds of poll(2) and epoll_wait(2): -1 for no limit, 0 for a negative timeout,
// INT_MAX (about 24.8 days) at most. A longer wait simply returns "nothing yet" after 24.8 days.
inline int poll_timeout_ms(std::optional<std::chrono::milliseconds> timeout) {
  if (!timeout) return -1;
  if (timeout->count() <= 0) return 0;
  return timeout->count() >= INT_MAX ? INT_MAX : static_cast<int>(timeout->count());
}

}  // namespace evq
