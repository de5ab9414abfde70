#include "timer_spec.hpp"

#include <fmt/core.h>

#include <cstdint>
#include <ctime>
#include <limits>

#include "why.hpp"

namespace evq::kq_emulation {
namespace {

// The dialects differ here (see <sys/event.h>): FreeBSD has NOTE_MSECONDS and NOTE_ABSTIME; macOS has
// no NOTE_MSECONDS, calls the absolute flag NOTE_ABSOLUTE, and takes coalescing hints we ignore.
#ifdef NOTE_MSECONDS
constexpr unsigned kMilliseconds = NOTE_MSECONDS;
#else
constexpr unsigned kMilliseconds = 0;  // macOS: no unit flag means milliseconds
#endif
#ifdef NOTE_ABSTIME
constexpr unsigned kAbsolute = NOTE_ABSTIME;
constexpr const char* kAbsoluteName = "NOTE_ABSTIME";
constexpr unsigned kHints = 0;
#else
constexpr unsigned kAbsolute = NOTE_ABSOLUTE;
constexpr const char* kAbsoluteName = "NOTE_ABSOLUTE";
constexpr unsigned kHints = NOTE_CRITICAL | NOTE_BACKGROUND;
#endif
constexpr unsigned kUnitFlags = NOTE_SECONDS | kMilliseconds | NOTE_USECONDS | NOTE_NSECONDS;

timespec to_timespec(std::int64_t amount, std::int64_t units_per_second) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(amount / units_per_second);
  ts.tv_nsec = static_cast<long>((amount % units_per_second) * (1'000'000'000 / units_per_second));
  return ts;
}

}  // namespace

std::optional<TimerSpec> timer_spec(const struct kevent& change) {
  unsigned unit = change.fflags & kUnitFlags;
  if (change.fflags & ~(kUnitFlags | kAbsolute | kHints)) {
    set_why(fmt::format("EVFILT_TIMER: fflags 0x{:x} has bits that are not a unit or {}", change.fflags,
                        kAbsoluteName));
    return std::nullopt;
  }
  if (unit & (unit - 1)) {
    set_why(
        kMilliseconds
            ? "EVFILT_TIMER: give at most one of NOTE_SECONDS, NOTE_MSECONDS, NOTE_USECONDS, NOTE_NSECONDS"
            : "EVFILT_TIMER: give at most one of NOTE_SECONDS, NOTE_USECONDS, NOTE_NSECONDS");
    return std::nullopt;
  }
  if (change.data < 0) {
    set_why(fmt::format("EVFILT_TIMER: a negative period ({}) is invalid", change.data));
    return std::nullopt;
  }
  std::int64_t per_second = unit == NOTE_SECONDS    ? 1
                            : unit == NOTE_USECONDS ? 1'000'000
                            : unit == NOTE_NSECONDS ? 1'000'000'000
                                                    : 1'000;  // milliseconds, the default
  TimerSpec spec;
  if (change.fflags & kAbsolute) {
    // An absolute moment on the wall clock (FreeBSD's NOTE_ABSTIME, macOS's NOTE_ABSOLUTE): fires once.
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
  if (change.data == 0 && oneshot)
    spec.value.it_value.tv_nsec = 1;
  else
    spec.value.it_value = to_timespec(change.data == 0 ? 1 : change.data, per_second);
  if (!oneshot) spec.value.it_interval = spec.value.it_value;  // periodic
  return spec;
}

}  // namespace evq::kq_emulation
