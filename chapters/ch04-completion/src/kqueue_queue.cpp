#include "evq/completion/kqueue_queue.hpp"

#include "evq/common/timeout.hpp"

namespace evq::completion {
namespace {
// EVFILT_USER identifiers live apart from file descriptors, so any number will do.
constexpr uintptr_t kWakeIdent = 1;
}  // namespace

KqueueQueue::KqueueQueue() {
  kq_.apply(evq::kq::change(kWakeIdent, EVFILT_USER, EV_ADD | EV_CLEAR));
}

// [snippet kqueue-watch]
void KqueueQueue::watch(int fd) {
  // Two filters per socket, both EV_CLEAR: reported once per change of state, like EPOLLET.
  const struct kevent changes[] = {
      evq::kq::change(static_cast<uintptr_t>(fd), EVFILT_READ, EV_ADD | EV_CLEAR),
      evq::kq::change(static_cast<uintptr_t>(fd), EVFILT_WRITE, EV_ADD | EV_CLEAR),
  };
  kq_.apply(changes);
}
// [/snippet kqueue-watch]

void KqueueQueue::unwatch(int fd) {
  const struct kevent changes[] = {
      evq::kq::change(static_cast<uintptr_t>(fd), EVFILT_READ, EV_DELETE),
      evq::kq::change(static_cast<uintptr_t>(fd), EVFILT_WRITE, EV_DELETE),
  };
  kq_.apply(changes);
}

void KqueueQueue::poll(std::vector<Readiness>& out, std::optional<std::chrono::milliseconds> timeout) {
  std::optional<std::chrono::nanoseconds> wait_for;  // milliseconds::max() would overflow in nanoseconds
  if (timeout) wait_for = evq::saturating_duration_cast<std::chrono::nanoseconds>(*timeout);
  std::size_t n = kq_.wait(events_, wait_for);
  for (std::size_t i = 0; i < n; ++i) {
    const struct kevent& e = events_[i];
    if (e.filter == EVFILT_USER) continue;  // a post(): the core collects posts itself
    int fd = static_cast<int>(e.ident);
    // EV_EOF or EV_ERROR: let both directions retry; the syscall then reports what happened.
    // With EV_EOF, fflags carries the socket's error (FreeBSD's kqueue(2)); keep it, because on Linux
    // the emulation read it with SO_ERROR, which also cleared it from the socket.
    bool failed = (e.flags & (EV_EOF | EV_ERROR)) != 0;
    int error = (e.flags & EV_EOF) ? static_cast<int>(e.fflags) : 0;
    out.push_back({fd, e.filter == EVFILT_READ || failed, e.filter == EVFILT_WRITE || failed, error, failed});
  }
}

void KqueueQueue::wake() {
  kq_.apply(evq::kq::change(kWakeIdent, EVFILT_USER, 0, NOTE_TRIGGER));
}

}  // namespace evq::completion
