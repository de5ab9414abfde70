#include "timer_spec.hpp"

#include <fmt/core.h>

#include <cstdint>
#include <ctime>
#include <limits>

#include "why.hpp"

namespace evq::kq_emulation {
namespace {

constexpr unsigned kUnitFlags = NOTE_SECONDS | NOTE_MSECONDS | NOTE_USECONDS | NOTE_NSECONDS;

timespec to_timespec(std::int64_t amount, std::int64_t units_per_second) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(amount / units_per_second);
  ts.tv_nsec = static_cast<long>((amount % units_per_second) * (1'000'000'000 / units_per_second));
  return ts;
}

}  // namespace

std::optional<TimerSpec> timer_spec(const struct kevent& change) {
  unsigned unit = change.fflags & kUnitFlags;
  if (change.fflags & ~(kUnitFlags | NOTE_ABSTIME)) {
    set_why(fmt::format("EVFILT_TIMER: fflags 0x{:x} has bits that are not a unit or NOTE_ABSTIME",
                        change.fflags));
    return std::nullopt;
  }
  if (unit & (unit - 1)) {
    set_why("EVFILT_TIMER: give at most one of NOTE_SECONDS, NOTE_MSECONDS, NOTE_USECONDS, NOTE_NSECONDS");
    return std::nullopt;
  }
  if (change.data < 0) {
    set_why(fmt::format("EVFILT_TIMER: a negative period ({}) is invalid", change.data));
    return std::nullopt;
  }
  std::int64_t per_second = unit == NOTE_SECONDS   ? 1
                            : unit == NOTE_USECONDS ? 1'000'000
                            : unit == NOTE_NSECONDS ? 1'000'000'000
                                                    : 1'000;  // NOTE_MSECONDS, the default
  TimerSpec spec;
  if (change.fflags & NOTE_ABSTIME) {
    // An absolute moment on the wall clock, as FreeBSD's NOTE_ABSTIME: fires once.
    spec.clock = CLOCK_REALTIME;
    spec.settime_flags = TFD_TIMER_ABSTIME;
    spec.value.it_value = to_timespec(change.data, per_second);
    if (spec.value.it_value.tv_sec == 0 && spec.value.it_value.tv_nsec == 0)
      spec.value.it_value.tv_nsec = 1;  // the epoch: long past, so "now"
    return spec;
  }
  spec.clock = CLOCK_MONOTONIC;
  // A zero value would disarm a timerfd. FreeBSD makes a zero period one unit, and fires a zero
  // oneshot at once: here, after one nanosecond.
  const bool oneshot = change.flags & EV_ONESHOT;
  if (change.data == 0 && oneshot) spec.value.it_value.tv_nsec = 1;
  else spec.value.it_value = to_timespec(change.data == 0 ? 1 : change.data, per_second);
  if (!oneshot) spec.value.it_interval = spec.value.it_value;  // periodic
  return spec;
}

}  // namespace evq::kq_emulation
