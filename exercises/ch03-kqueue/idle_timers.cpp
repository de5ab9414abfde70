// YOUR FILE for lab ch03/idle_timers.
// Handout: notes/ch03-kqueue.md, "Lab 1: idle timeouts".
// Interface and contract: chapters/ch03-kqueue/include/evq/kq/lab/idle_timers.hpp.
// Replace every TODO(lab) body and keep the signatures; the grader builds this file and no other.
// Grade it: tools/lab grade ch03 --lab idle_timers
//
// Useful: evq::kq::change (EV_SET as a function), Kqueue::apply, Kqueue::kevent, EVFILT_TIMER with
// EV_ADD | EV_ONESHOT and kNoteMilliseconds (NOTE_MSECONDS where it exists: see kqueue.hpp), std::set.
#include "evq/kq/lab/idle_timers.hpp"

#include <stdexcept>

namespace evq::kq::lab {

struct IdleTimers::State {
  // TODO(lab): the kqueue (a reference), the idle time, the watched descriptors...
};

IdleTimers::IdleTimers(Kqueue& /*kq*/, std::chrono::milliseconds /*idle*/)
    : state_(std::make_unique<State>()) {
  // TODO(lab): remember the kqueue and the idle time.
}

IdleTimers::~IdleTimers() = default;

void IdleTimers::watch(int /*fd*/) {
  // TODO(lab): add a timer whose ident is fd.
  throw std::logic_error("TODO(lab): IdleTimers::watch is not written yet");
}

void IdleTimers::touch(int /*fd*/) {
  // TODO(lab): restart fd's timer.
  throw std::logic_error("TODO(lab): IdleTimers::touch is not written yet");
}

void IdleTimers::forget(int /*fd*/) {
  // TODO(lab): stop fd's timer, if it is watched.
  throw std::logic_error("TODO(lab): IdleTimers::forget is not written yet");
}

int IdleTimers::expired(const struct kevent& /*ev*/) {
  // TODO(lab): is this the idle timer of a watched fd?
  throw std::logic_error("TODO(lab): IdleTimers::expired is not written yet");
}

std::size_t IdleTimers::watched() const {
  // TODO(lab)
  throw std::logic_error("TODO(lab): IdleTimers::watched is not written yet");
}

}  // namespace evq::kq::lab
