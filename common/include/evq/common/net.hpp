// Loopback networking helpers for demos and tests (POSIX: Linux, macOS, the BSDs).
//
// Everything here talks to 127.0.0.1 or ::1 on a port the kernel picks (port 0), never to another
// address: the demos and tests must run on a machine with no network and never collide on a port.
//
// Portable on purpose: plain socket() and accept() followed by fcntl(), not Linux's SOCK_CLOEXEC,
// SOCK_NONBLOCK and accept4(), which macOS lacks. (The price: close-on-exec is set a moment after the
// descriptor exists, which matters only to a program that forks in another thread meanwhile.)
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>

#include "evq/common/accept_pause.hpp"
#include "evq/common/unique_fd.hpp"

namespace evq {

enum class Family { v4, v6 };

// send() flags that keep a reset peer from killing us with SIGPIPE: MSG_NOSIGNAL where it exists
// (Linux, the BSDs). macOS has no such flag; there every socket made here has SO_NOSIGPIPE set.
#ifdef MSG_NOSIGNAL
inline constexpr int kSendFlags = MSG_NOSIGNAL;
#else
inline constexpr int kSendFlags = 0;
#endif

// A TCP socket, close-on-exec, non-blocking if asked, SO_NOSIGPIPE where that exists.
UniqueFd tcp_socket(Family family = Family::v4, bool nonblocking = false);

// A pipe, both ends close-on-exec, non-blocking if asked (pipe() + fcntl(): macOS has no pipe2).
struct Pipe {
  UniqueFd read_end, write_end;
};
Pipe make_pipe(bool nonblocking = false);

// FD_CLOEXEC on `fd`.
void set_cloexec(int fd);

// A TCP listener on 127.0.0.1 (or ::1) port 0. SO_REUSEADDR is set; CLOEXEC always.
UniqueFd listen_loopback(Family family = Family::v4, int backlog = 128, bool nonblocking = false);

// The port the kernel gave a bound socket.
std::uint16_t local_port(int fd);

// A blocking TCP connection to the loopback address of `family` at `port`.
UniqueFd connect_loopback(std::uint16_t port, Family family = Family::v4);

// A non-blocking connect(): returns at once with the socket, the connection in progress (EINPROGRESS)
// or already made. The caller learns the outcome from writability and SO_ERROR.
UniqueFd connect_loopback_nonblocking(std::uint16_t port, Family family = Family::v4);

// One accept(), then close-on-exec and O_NONBLOCK set or cleared as asked (a BSD socket inherits
// the listener's O_NONBLOCK, a Linux one does not), and what its error means, by the one policy
// of evq/common/accept_pause.hpp: `fd` is set, or `kind` says would_block, connection_lost or
// machine_full (with `error`). EINTR is retried; a fatal error throws.
struct AcceptOutcome {
  UniqueFd fd;
  AcceptError kind = AcceptError::would_block;  // meaningless when fd is set
  std::error_code error{};
};
AcceptOutcome accept_once(int listen_fd, bool nonblocking = false);

// accept_once() for callers that need no pause: an empty UniqueFd when nothing can be taken now
// (the queue is empty, or that connection was lost); machine_full throws like a fatal error.
UniqueFd accept_connection(int listen_fd, bool nonblocking = false);

// A connected TCP pair over loopback, both blocking, both CLOEXEC: the everyday test fixture.
struct TcpPair {
  UniqueFd client;
  UniqueFd server;
};
TcpPair tcp_pair(Family family = Family::v4);

void set_nonblocking(int fd, bool on = true);
void set_nodelay(int fd);
// SO_LINGER {on, 0}: close() then sends RST instead of FIN — how tests play a peer that resets.
void set_linger_reset(int fd);
// SO_RCVTIMEO / SO_SNDTIMEO on a blocking socket: a blocking recv or send then fails with EAGAIN
// after `milliseconds`, so a broken peer fails a test instead of hanging it. (The Windows twins
// are in win32.hpp.)
void set_receive_timeout(int fd, int milliseconds);
void set_send_timeout(int fd, int milliseconds);
// shutdown(SHUT_WR): a half-close, the peer reads end of stream but can still write to us.
void shutdown_write(int fd);
// SO_ERROR: the pending error of a socket (0 if none); reading it clears it.
int socket_error(int fd);

// Blocking helpers for the client side of demos and tests (they retry EINTR and partial writes).
void write_all(int fd, std::span<const std::byte> data);
void write_all(int fd, std::string_view text);
// Reads exactly data.size() bytes; returns fewer only at end of stream.
std::size_t read_exact(int fd, std::span<std::byte> data);
std::string read_exact(int fd, std::size_t n);

}  // namespace evq
