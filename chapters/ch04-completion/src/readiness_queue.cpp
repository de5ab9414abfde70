#include "evq/completion/readiness_queue.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fmt/core.h>
#include <stdexcept>

#include "evq/common/accept_pause.hpp"
#include "evq/common/error.hpp"
#include "evq/common/net.hpp"

namespace evq::completion {
namespace {

void make_nonblocking(int fd) {
  int flags = check(::fcntl(fd, F_GETFL), "fcntl(F_GETFL)");
  if (!(flags & O_NONBLOCK)) check(::fcntl(fd, F_SETFL, flags | O_NONBLOCK), "fcntl(F_SETFL, O_NONBLOCK)");
}

bool would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK;
}

}  // namespace

void ReadinessQueue::attach(NativeSocket fd) {
  sockets_.add(fd, backend(), [&] {
    make_nonblocking(fd);  // the backend retries syscalls itself; it must never block in one
    watch(fd);
  });
}

void ReadinessQueue::detach(NativeSocket fd) {
  if (!sockets_.find(fd)) return;
  cancel(fd);
  sockets_.remove(fd);
  unwatch(fd);
}

void ReadinessQueue::accept(NativeSocket listener, UserData user_data) {
  SocketState& s = sockets_.get(listener, "accept", backend());
  submit(listener, s, s.input, Pending{Op::accept, user_data});
}

void ReadinessQueue::connect(NativeSocket fd, const Endpoint& to, UserData user_data) {
  SocketState& s = sockets_.get(fd, "connect", backend());
  Pending op{Op::connect, user_data};
  op.to = std::make_unique<Endpoint>(to);
  submit(fd, s, s.output, std::move(op));
}

void ReadinessQueue::read(NativeSocket fd, std::span<std::byte> buffer, UserData user_data) {
  SocketState& s = sockets_.get(fd, "read", backend());
  submit(fd, s, s.input, Pending{Op::read, user_data, buffer.data(), buffer.size()});
}

void ReadinessQueue::write(NativeSocket fd, std::span<const std::byte> buffer, UserData user_data) {
  SocketState& s = sockets_.get(fd, "write", backend());
  // The queue only reads through this pointer; Pending keeps one pointer type for both directions.
  submit(fd, s, s.output,
         Pending{Op::write, user_data, const_cast<std::byte*>(buffer.data()), buffer.size()});
}

// [snippet try-first]
void ReadinessQueue::submit(int fd, SocketState& s, std::deque<Pending>& queue, Pending op) {
  ++pending_;
  // Try the syscall now, unless an earlier operation in the same direction is parked: it must go
  // first (order), and it is parked because the socket said EAGAIN, so we would only hear it again.
  // A read on a socket known drained goes straight to the queue: the syscall could only say EAGAIN.
  const bool known_drained = op.op == Op::read && !s.may_have_input;
  if (queue.empty() && !known_drained && attempt(fd, s, op) == Step::completed) return;
  queue.push_back(std::move(op));  // wait for the next readiness edge of this direction
}
// [/snippet try-first]

// [snippet attempt]
ReadinessQueue::Step ReadinessQueue::attempt(int fd, SocketState& s, Pending& op) {
  const int event_error = s.event_error;
  for (;;) {  // loops only on EINTR, on a connection aborted before accept, and on a partial send
    switch (op.op) {
      case Op::read: {
        ssize_t n = ::recv(fd, op.data, op.size, 0);
        if (n == 0 && event_error) return ready_.finish(op, 0, errno_code(event_error)), Step::completed;
        if (n == 0) return ready_.finish(op, 0, {}), Step::completed;  // end of stream: it stays readable
        if (n > 0) {
          // Short: what the kernel held is all taken; the next data brings a new edge.
          if (static_cast<std::size_t>(n) < op.size && !s.input_ended) s.may_have_input = false;
          return ready_.finish(op, static_cast<std::size_t>(n), {}), Step::completed;
        }
        if (would_block(errno) && !s.input_ended) s.may_have_input = false;
        break;
      }
      case Op::write: {
        ssize_t n = ::send(fd, op.data + op.done, op.size - op.done, evq::kSendFlags);
        if (n >= 0) {
          op.done += static_cast<std::size_t>(n);
          if (op.done == op.size) return ready_.finish(op, op.done, {}), Step::completed;
          continue;  // part of it went out: try the rest, until all is sent or EAGAIN
        }
        break;
      }
      case Op::accept: {
        // One accept by the book's one policy (evq::accept_once, portable: accept + fcntl): a
        // client that gave up before we took it is skipped; EMFILE and friends complete the accept
        // with their error, and the caller pauses; any other error completes it too.
        AcceptOutcome a;
        try {
          a = accept_once(fd, /*nonblocking=*/true);
        } catch (const std::system_error& e) {
          return ready_.finish(op, 0, e.code()), Step::completed;
        }
        if (a.fd) return ready_.finish(op, 0, {}, std::move(a.fd)), Step::completed;
        if (a.kind == AcceptError::connection_lost) continue;
        if (a.kind == AcceptError::would_block) return Step::would_block;
        return ready_.finish(op, 0, a.error), Step::completed;
      }
      case Op::connect: {
        if (!op.connect_started) {
          op.connect_started = true;
          if (::connect(fd, op.to->get(), op.to->length) == 0)
            return ready_.finish(op, 0, {}), Step::completed;
          if (errno == EINPROGRESS || errno == EINTR) return Step::would_block;  // finishes in the kernel
          break;
        }
        // Writable after a non-blocking connect: SO_ERROR tells failure; getpeername tells success.
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
        if (err == 0) err = event_error;
        if (err != 0) return ready_.finish(op, 0, errno_code(err)), Step::completed;
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof peer;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0)
          return ready_.finish(op, 0, {}), Step::completed;
        if (errno == ENOTCONN) return Step::would_block;  // an early edge: still connecting
        break;
      }
      case Op::post:
        break;
    }
    if (errno == EINTR) continue;
    if (would_block(errno)) return Step::would_block;
    int err = errno;
    return ready_.finish(op, op.done, errno_code(err)), Step::completed;
  }
}
// [/snippet attempt]

void ReadinessQueue::drive(int fd, SocketState& s, std::deque<Pending>& queue) {
  // Edge-triggered: keep going until a syscall says EAGAIN (or the queue is empty), or the next edge
  // may never come.
  while (!queue.empty() && attempt(fd, s, queue.front()) == Step::completed) queue.pop_front();
}

// [snippet cancel]
void ReadinessQueue::cancel(NativeSocket fd) {
  SocketState* s = sockets_.find(fd);
  if (!s) return;
  // Parked operations have not touched their buffers since their last EAGAIN, and never will again:
  // they complete now, aborted. Finished ones are already in ready_ and keep their real result.
  for (auto* queue : {&s->input, &s->output}) {
    for (Pending& op : *queue) ready_.finish(op, op.done, operation_aborted());
    queue->clear();
  }
}
// [/snippet cancel]

void ReadinessQueue::post(UserData user_data, std::size_t bytes) {
  posts_.add(user_data, bytes);
  wake();
}

// [snippet wait]
std::size_t ReadinessQueue::wait(std::span<Completion> out,
                                 std::optional<std::chrono::milliseconds> timeout) {
  posts_.take_into(ready_);
  // With completions already waiting, return them without a syscall, but not twice in a row: a
  // program that keeps completing inline must not starve the sockets that wait for readiness.
  if (ready_.empty() || skipped_poll_) {
    events_.clear();
    poll(events_, ready_.empty() ? timeout : std::chrono::milliseconds(0));
    for (const Readiness& r : events_) {
      SocketState* s = sockets_.find(r.fd);
      if (!s) continue;  // detached since the event was queued
      if (r.error && !s->event_error) s->event_error = r.error;
      if (r.input_ended) s->input_ended = true;
      if (r.readable) s->may_have_input = true;  // before drive: its reads may find it drained again
      if (r.readable) drive(r.fd, *s, s->input);
      if (r.writable) drive(r.fd, *s, s->output);
    }
    posts_.take_into(ready_);
    skipped_poll_ = false;
  } else {
    skipped_poll_ = true;
  }
  CompletionFifo::HandedOut handed = ready_.hand_out(out);
  pending_ -= handed.operations;  // posts were never counted as pending
  return handed.count;
}
// [/snippet wait]

}  // namespace evq::completion
