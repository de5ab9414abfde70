#include "evq/common/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "evq/common/error.hpp"

namespace evq {
namespace {

// A loopback address with `port`, sized for bind/connect.
struct LoopbackAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  LoopbackAddress(Family family, std::uint16_t port) {
    if (family == Family::v4) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(port);
      sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      length = sizeof(sockaddr_in);
    } else {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons(port);
      sin6->sin6_addr = in6addr_loopback;
      length = sizeof(sockaddr_in6);
    }
  }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

int domain_of(Family family) {
  return family == Family::v4 ? AF_INET : AF_INET6;
}

// What every socket made or accepted here gets: close-on-exec, O_NONBLOCK as asked, no SIGPIPE.
void prepare_socket(int fd, bool nonblocking) {
  set_cloexec(fd);
  set_nonblocking(fd, nonblocking);
#ifdef SO_NOSIGPIPE
  int one = 1;  // macOS (and the BSDs): a write to a reset peer fails with EPIPE instead of SIGPIPE
  check(::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one), "setsockopt(SO_NOSIGPIPE)");
#endif
}

UniqueFd new_tcp_socket(Family family, bool nonblocking) {
  UniqueFd fd(check(::socket(domain_of(family), SOCK_STREAM, 0), "socket(SOCK_STREAM)"));
  prepare_socket(fd.get(), nonblocking);
  return fd;
}

}  // namespace

UniqueFd tcp_socket(Family family, bool nonblocking) {
  return new_tcp_socket(family, nonblocking);
}

void set_cloexec(int fd) {
  int flags = check(::fcntl(fd, F_GETFD), "fcntl(F_GETFD)");
  check(::fcntl(fd, F_SETFD, flags | FD_CLOEXEC), "fcntl(F_SETFD, FD_CLOEXEC)");
}

Pipe make_pipe(bool nonblocking) {
  int fds[2];
  check(::pipe(fds), "pipe");
  Pipe p{UniqueFd(fds[0]), UniqueFd(fds[1])};
  for (int fd : fds) {
    set_cloexec(fd);
    set_nonblocking(fd, nonblocking);
  }
  return p;
}

UniqueFd listen_loopback(Family family, int backlog, bool nonblocking) {
  UniqueFd fd = new_tcp_socket(family, nonblocking);
  int one = 1;
  check(::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), "setsockopt(SO_REUSEADDR)");
  LoopbackAddress addr(family, 0);
  check(::bind(fd.get(), addr.get(), addr.length),
        family == Family::v4 ? "bind(127.0.0.1:0)" : "bind([::1]:0)");
  check(::listen(fd.get(), backlog), "listen");
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  check(::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length), "getsockname");
  if (storage.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
}

UniqueFd connect_loopback(std::uint16_t port, Family family) {
  UniqueFd fd = new_tcp_socket(family, false);
  LoopbackAddress addr(family, port);
  int rc;
  do {
    rc = ::connect(fd.get(), addr.get(), addr.length);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) throw_errno("connect(loopback:" + std::to_string(port) + ")");
  return fd;
}

UniqueFd connect_loopback_nonblocking(std::uint16_t port, Family family) {
  UniqueFd fd = new_tcp_socket(family, true);
  LoopbackAddress addr(family, port);
  if (::connect(fd.get(), addr.get(), addr.length) < 0 && errno != EINPROGRESS)
    throw_errno("connect(loopback:" + std::to_string(port) + ", non-blocking)");
  return fd;
}

AcceptOutcome accept_once(int listen_fd, bool nonblocking) {
  for (;;) {
    int fd = ::accept(listen_fd, nullptr, nullptr);
    if (fd >= 0) {
      UniqueFd owned(fd);
      prepare_socket(fd, nonblocking);
      return {std::move(owned)};
    }
    const int err = errno;
    AcceptError kind = classify_accept_errno(err);
    if (kind == AcceptError::interrupted) continue;
    if (kind == AcceptError::fatal) throw_errno("accept", err);
    return {UniqueFd(), kind, errno_code(err)};
  }
}

UniqueFd accept_connection(int listen_fd, bool nonblocking) {
  AcceptOutcome a = accept_once(listen_fd, nonblocking);
  if (!a.fd && a.kind == AcceptError::machine_full) throw std::system_error(a.error, "accept");
  return std::move(a.fd);
}

TcpPair tcp_pair(Family family) {
  UniqueFd listener = listen_loopback(family, 1);
  UniqueFd client = connect_loopback(local_port(listener.get()), family);
  UniqueFd server = accept_connection(listener.get());
  if (!server) throw std::runtime_error("tcp_pair: accept found no connection");
  return {std::move(client), std::move(server)};
}

void set_nonblocking(int fd, bool on) {
  int flags = check(::fcntl(fd, F_GETFL), "fcntl(F_GETFL)");
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  check(::fcntl(fd, F_SETFL, flags), "fcntl(F_SETFL, O_NONBLOCK)");
}

void set_nodelay(int fd) {
  int one = 1;
  check(::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), "setsockopt(TCP_NODELAY)");
}

void set_linger_reset(int fd) {
  linger lg{1, 0};
  check(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), "setsockopt(SO_LINGER 0)");
}

namespace {
void set_timeout(int fd, int option, const char* name, int milliseconds) {
  timeval tv{};
  tv.tv_sec = milliseconds / 1000;
  tv.tv_usec = static_cast<suseconds_t>(milliseconds % 1000) * 1000;
  check(::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv), name);
}
}  // namespace

void set_receive_timeout(int fd, int milliseconds) {
  set_timeout(fd, SO_RCVTIMEO, "setsockopt(SO_RCVTIMEO)", milliseconds);
}
void set_send_timeout(int fd, int milliseconds) {
  set_timeout(fd, SO_SNDTIMEO, "setsockopt(SO_SNDTIMEO)", milliseconds);
}

void shutdown_write(int fd) {
  check(::shutdown(fd, SHUT_WR), "shutdown(SHUT_WR)");
}

int socket_error(int fd) {
  int err = 0;
  socklen_t length = sizeof err;
  check(::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &length), "getsockopt(SO_ERROR)");
  return err;
}

void write_all(int fd, std::span<const std::byte> data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), kSendFlags);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("send");
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
}

// (std::span<const char> spelled out: libc++ 14 deduces span<char> from a string_view.)
void write_all(int fd, std::string_view text) {
  write_all(fd, std::as_bytes(std::span<const char>(text.data(), text.size())));
}

std::size_t read_exact(int fd, std::span<std::byte> data) {
  std::size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::recv(fd, data.data() + got, data.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("recv");
    }
    if (n == 0) break;  // end of stream
    got += static_cast<std::size_t>(n);
  }
  return got;
}

std::string read_exact(int fd, std::size_t n) {
  std::string text(n, '\0');
  text.resize(read_exact(fd, std::as_writable_bytes(std::span(text))));
  return text;
}

}  // namespace evq
