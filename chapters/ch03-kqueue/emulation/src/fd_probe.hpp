// What EVFILT_READ and EVFILT_WRITE need to know about a descriptor, asked of Linux right now:
// its poll(2) readiness and the numbers FreeBSD puts in `data` (bytes to read, pending connections,
// room to write). Everything here is a plain query; only socket_error() changes state (see there).
#pragma once

#include <cstdint>

namespace evq::kq_emulation {

enum class FdKind { socket, listening_socket, pipe, other };

FdKind kind_of(int fd);
// Whether `fd` is an epoll instance, which is what the emulation's kqueue() returns.
bool is_epoll(int fd);

// poll(2) with a zero timeout for POLLIN|POLLOUT|POLLRDHUP. Returns the revents (POLLNVAL when fd is
// not open).
short poll_now(int fd);

// EVFILT_READ's data: bytes readable (FIONREAD), or for a listening TCP socket the number of
// connections waiting in the accept queue (TCP_INFO's tcpi_unacked, which Linux fills with the accept
// queue length for a listener). For a listener of another family: 1 when a connection waits.
std::int64_t read_data(int fd, FdKind kind, short revents);

// EVFILT_WRITE's data: free room in the send buffer. Sockets: SO_SNDBUF minus SIOCOUTQ (bytes not yet
// acknowledged); Linux reports SO_SNDBUF doubled for its bookkeeping, so this is an estimate. Pipes:
// F_GETPIPE_SZ minus the bytes in the pipe. Others: 0.
std::int64_t write_data(int fd, FdKind kind);

// SO_ERROR. Linux clears the error when it is read (FreeBSD's kevent only looks at it), so callers
// read it only when poll() says POLLERR, and keep what they read.
int socket_error(int fd);

}  // namespace evq::kq_emulation
