// Lab "sized_writer": the reference solution. The interface and its contract are in
// chapters/ch03-kqueue/include/evq/kq/lab/sized_writer.hpp; the handout is in notes/ch03-kqueue.md.
#include "evq/kq/lab/sized_writer.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "evq/common/net.hpp"

namespace evq::kq::lab {

struct SizedWriter::State {
  Kqueue& kq;
  int fd;
  void* udata;
  std::string queue;  // bytes not yet written, oldest first
  bool registered = false;
  int error = 0;

  void set_write_filter(bool on) {
    if (on == registered) return;
    kq.apply(change(static_cast<uintptr_t>(fd), EVFILT_WRITE, on ? EV_ADD : EV_DELETE, 0, 0, udata));
    registered = on;
  }
  void fail(int err) {
    error = err;
    queue.clear();
    set_write_filter(false);
  }
};

SizedWriter::SizedWriter(Kqueue& kq, int fd, void* udata)
    : state_(std::make_unique<State>(State{kq, fd, udata, {}, false, 0})) {}

SizedWriter::~SizedWriter() = default;

void SizedWriter::send(std::string_view bytes) {
  if (bytes.empty() || state_->error) return;
  state_->queue.append(bytes);
  state_->set_write_filter(true);  // ask kqueue to tell us when there is room
}

std::size_t SizedWriter::on_writable(const struct kevent& ev) {
  State& s = *state_;
  if (ev.flags & EV_EOF) {  // the reader is gone; fflags has the socket error, if any
    s.fail(static_cast<int>(ev.fflags));
    return 0;
  }
  const std::size_t room = ev.data > 0 ? static_cast<std::size_t>(ev.data) : 0;
  const std::size_t size = std::min(room, s.queue.size());
  if (size == 0) return 0;
  ssize_t n = ::send(s.fd, s.queue.data(), size, evq::kSendFlags);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    s.fail(errno);
    return 0;
  }
  s.queue.erase(0, static_cast<std::size_t>(n));
  if (s.queue.empty()) s.set_write_filter(false);  // nothing left: stop the events
  return static_cast<std::size_t>(n);
}

std::size_t SizedWriter::queued() const {
  return state_->queue.size();
}
bool SizedWriter::registered() const {
  return state_->registered;
}
int SizedWriter::error() const {
  return state_->error;
}

}  // namespace evq::kq::lab
