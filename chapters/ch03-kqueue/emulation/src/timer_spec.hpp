// EVFILT_TIMER's `data` and `fflags` turned into a timerfd setting, checked the way FreeBSD checks
// them: one unit at most (milliseconds when none is given), no negative period.
#pragma once

#include <sys/event.h>
#include <sys/timerfd.h>

#include <optional>

namespace evq::kq_emulation {

struct TimerSpec {
  int clock = 0;          // CLOCK_MONOTONIC, or CLOCK_REALTIME for NOTE_ABSTIME
  int settime_flags = 0;  // TFD_TIMER_ABSTIME for NOTE_ABSTIME
  itimerspec value{};
};

// nullopt (and the reason, via set_why) when the change asks for something FreeBSD refuses or the
// emulation does not do.
std::optional<TimerSpec> timer_spec(const struct kevent& change);

}  // namespace evq::kq_emulation
