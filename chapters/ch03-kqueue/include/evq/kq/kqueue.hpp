// evq::kq::Kqueue — a small RAII wrapper over kqueue(2), written against <sys/event.h> exactly as on
// FreeBSD and macOS. On Linux the same code links the project's kqueue emulation (see
// emulation/include/sys/event.h and notes/ch03-kqueue.md); `kEmulated` tells the two apart.
//
// It hides nothing of kqueue: changes and events are raw `struct kevent`s, and one call both applies
// a changelist and waits for events, as kevent() does. What it adds is ownership of the descriptor,
// errors that name the call, and readable names for narration and test messages.
#pragma once

#include <sys/types.h>
#include <sys/event.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "evq/common/unique_fd.hpp"

namespace evq::kq {

#ifdef EVQ_KQUEUE_EMULATION
inline constexpr bool kEmulated = true;  // Linux: the project's emulation over epoll
#else
inline constexpr bool kEmulated = false;  // a real kqueue: FreeBSD, OpenBSD, NetBSD, macOS
#endif

// The fflags that make an EVFILT_TIMER's data milliseconds. FreeBSD spells it NOTE_MSECONDS (and
// milliseconds are also its default); macOS has no NOTE_MSECONDS at all, because there milliseconds
// are simply what data means without a unit flag. So: NOTE_MSECONDS where it exists, else 0.
#ifdef NOTE_MSECONDS
inline constexpr unsigned kNoteMilliseconds = NOTE_MSECONDS;
#else
inline constexpr unsigned kNoteMilliseconds = 0;
#endif

// EV_SET as a function: a change (or an expected event) in one expression.
struct kevent change(uintptr_t ident, short filter, unsigned short flags, unsigned fflags = 0,
                     std::int64_t data = 0, void* udata = nullptr);

class Kqueue {
 public:
  // kqueue().
  Kqueue();

  int fd() const { return fd_.get(); }

  // kevent(): applies every change in `changes` (in order), then, if `events` is not empty, waits up
  // to `timeout` (nullopt: for ever; zero: just look) and fills `events`. Returns how many entries
  // were written. Entries with EV_ERROR in flags answer changes (data = 0 or an errno); FreeBSD
  // returns those answers alone, without events. A signal (EINTR) counts as "nothing yet": 0.
  // Throws std::system_error when kevent() itself fails (a refused change with no room to answer).
  std::size_t kevent(std::span<const struct kevent> changes, std::span<struct kevent> events,
                     std::optional<std::chrono::nanoseconds> timeout);

  // Just wait: kevent() with no changes.
  std::size_t wait(std::span<struct kevent> events, std::optional<std::chrono::nanoseconds> timeout) {
    return kevent({}, events, timeout);
  }

  // Applies changes and insists each one worked: EV_RECEIPT is set on every change so each gets an
  // answer, and the first refused one throws std::system_error naming it. Waits for nothing.
  void apply(std::span<const struct kevent> changes);
  void apply(const struct kevent& one) { apply(std::span(&one, 1)); }

 private:
  UniqueFd fd_;
};

}  // namespace evq::kq
