#include "fd_probe.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <string_view>

namespace evq::kq_emulation {

FdKind kind_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) < 0) return FdKind::other;
  if (S_ISFIFO(st.st_mode)) return FdKind::pipe;
  if (!S_ISSOCK(st.st_mode)) return FdKind::other;
  int listening = 0;
  socklen_t length = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 && listening)
    return FdKind::listening_socket;
  return FdKind::socket;
}

bool is_epoll(int fd) {
  // /proc/self/fd/N of an epoll instance reads "anon_inode:[eventpoll]".
  char target[64] = {};
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  return n > 0 && std::string_view(target, static_cast<std::size_t>(n)) == "anon_inode:[eventpoll]";
}

short poll_now(int fd) {
  pollfd p{fd, static_cast<short>(POLLIN | POLLOUT | POLLRDHUP), 0};
  int n;
  do {
    n = ::poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n > 0 ? p.revents : 0;
}

std::int64_t read_data(int fd, FdKind kind, short revents) {
  if (kind == FdKind::listening_socket) {
    tcp_info info{};
    socklen_t length = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) == 0 &&
        info.tcpi_state == 10 /* TCP_LISTEN */)
      return info.tcpi_unacked;  // for a listener: the accept queue's current length
    return (revents & POLLIN) ? 1 : 0;
  }
  int bytes = 0;
  if (::ioctl(fd, FIONREAD, &bytes) < 0) return 0;
  return bytes;
}

std::int64_t write_data(int fd, FdKind kind) {
  if (kind == FdKind::socket) {
    int sndbuf = 0;
    socklen_t length = sizeof sndbuf;
    int queued = 0;
    if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &length) < 0) return 0;
    if (::ioctl(fd, SIOCOUTQ, &queued) < 0) queued = 0;
    return std::max(0, sndbuf - queued);
  }
  if (kind == FdKind::pipe) {
    int size = ::fcntl(fd, F_GETPIPE_SZ);
    int queued = 0;
    if (size < 0) return 0;
    if (::ioctl(fd, FIONREAD, &queued) < 0) queued = 0;
    return std::max(0, size - queued);
  }
  return 0;
}

int socket_error(int fd) {
  int err = 0;
  socklen_t length = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &length) < 0) return 0;
  return err;
}

}  // namespace evq::kq_emulation
