// Lab "idle_timers": the reference solution. The interface and its contract are in
// chapters/ch03-kqueue/include/evq/kq/lab/idle_timers.hpp; the handout is in notes/ch03-kqueue.md.
#include "evq/kq/lab/idle_timers.hpp"

#include <fmt/core.h>

#include <set>
#include <stdexcept>

namespace evq::kq::lab {

struct IdleTimers::State {
  Kqueue& kq;
  std::chrono::milliseconds idle;
  std::set<int> watched;
};

IdleTimers::IdleTimers(Kqueue& kq, std::chrono::milliseconds idle)
    : state_(std::make_unique<State>(State{kq, idle, {}})) {}

IdleTimers::~IdleTimers() = default;

namespace {
// One EV_ONESHOT timer per connection: it fires once, then kqueue deletes it by itself. EV_ADD on a
// timer that exists restarts it and drops any expiry not yet delivered: that is touch().
struct kevent idle_timer(int fd, std::chrono::milliseconds idle) {
  return change(static_cast<uintptr_t>(fd), EVFILT_TIMER, EV_ADD | EV_ONESHOT, kNoteMilliseconds,
                idle.count());
}
}  // namespace

void IdleTimers::watch(int fd) {
  if (state_->watched.count(fd)) throw std::invalid_argument(fmt::format("fd {} is already watched", fd));
  state_->kq.apply(idle_timer(fd, state_->idle));
  state_->watched.insert(fd);
}

void IdleTimers::touch(int fd) {
  if (!state_->watched.count(fd)) throw std::out_of_range(fmt::format("fd {} is not watched", fd));
  state_->kq.apply(idle_timer(fd, state_->idle));
}

void IdleTimers::forget(int fd) {
  if (!state_->watched.erase(fd)) return;
  // The timer may have fired and been delivered (a oneshot deletes itself): ENOENT is fine then.
  struct kevent del = change(static_cast<uintptr_t>(fd), EVFILT_TIMER, EV_DELETE);
  struct kevent answer {};
  state_->kq.kevent(std::span(&del, 1), std::span(&answer, 1), std::chrono::nanoseconds(0));
}

int IdleTimers::expired(const struct kevent& ev) {
  if (ev.filter != EVFILT_TIMER || (ev.flags & EV_ERROR)) return -1;
  const int fd = static_cast<int>(ev.ident);
  if (!state_->watched.erase(fd)) return -1;  // not ours, or forgotten before it was handled
  return fd;
}

std::size_t IdleTimers::watched() const {
  return state_->watched.size();
}

}  // namespace evq::kq::lab
