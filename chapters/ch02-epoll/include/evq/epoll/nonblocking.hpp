// Non-blocking reads, writes and accepts, with the answers an event loop needs spelled out.
//
// With readiness-based I/O the syscall is ours to make, and "not now" (EAGAIN) is an ordinary
// answer, not an error: it is how an edge-triggered loop knows it has drained a socket. These
// helpers turn errno into one of four outcomes so the loops in this chapter never look at errno.
#pragma once

#include <cstddef>
#include <span>
#include <system_error>

#include "evq/common/unique_fd.hpp"

namespace evq::epoll {

struct IoResult {
  enum class Status {
    done,         // `bytes` moved (always > 0)
    would_block,  // EAGAIN: nothing more until epoll says so
    closed,       // read: end of stream (the peer sent FIN); write: never
    failed,       // `error` says why (ECONNRESET, EPIPE, ...): the connection is over
  };
  Status status = Status::done;
  std::size_t bytes = 0;
  std::error_code error{};

  bool done() const { return status == Status::done; }
  bool would_block() const { return status == Status::would_block; }
};

// recv() once on a non-blocking socket (EINTR is retried).
IoResult read_some(int fd, std::span<std::byte> buffer);
// send() once with MSG_NOSIGNAL, so a reset peer gives EPIPE instead of killing us with SIGPIPE.
IoResult write_some(int fd, std::span<const std::byte> data);

// accept4() once on a non-blocking listener. The new socket is non-blocking and close-on-exec.
// Which errno means what is one policy for the whole book: evq::classify_accept_errno().
struct AcceptResult {
  enum class Status {
    accepted,      // `fd` is the new connection
    would_block,   // the accept queue is empty
    skipped,       // that one connection failed before we took it (ECONNABORTED...): try again
    machine_full,  // EMFILE, ENFILE, ENOBUFS, ENOMEM (`error`): the connection still waits in the
                   // queue, so trying again now would spin; pause (see evq/common/accept_pause.hpp)
  };
  Status status = Status::would_block;
  UniqueFd fd;
  std::error_code error{};
};
// Throws std::system_error for the listener's own problems (EBADF, EINVAL, ...).
AcceptResult try_accept(int listen_fd);

}  // namespace evq::epoll
