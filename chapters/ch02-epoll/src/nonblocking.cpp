#include "evq/epoll/nonblocking.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "evq/common/accept_pause.hpp"
#include "evq/common/error.hpp"

namespace evq::epoll {
namespace {

bool is_would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK;
}

IoResult from_errno(int err) {
  if (is_would_block(err)) return {IoResult::Status::would_block, 0, {}};
  return {IoResult::Status::failed, 0, errno_code(err)};
}

}  // namespace

IoResult read_some(int fd, std::span<std::byte> buffer) {
  for (;;) {
    ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n > 0) return {IoResult::Status::done, static_cast<std::size_t>(n), {}};
    if (n == 0) return {IoResult::Status::closed, 0, {}};
    if (errno != EINTR) return from_errno(errno);
  }
}

IoResult write_some(int fd, std::span<const std::byte> data) {
  for (;;) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) return {IoResult::Status::done, static_cast<std::size_t>(n), {}};
    if (errno != EINTR) return from_errno(errno);
  }
}

AcceptResult try_accept(int listen_fd) {
  for (;;) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return {AcceptResult::Status::accepted, UniqueFd(fd)};
    const int err = errno;
    switch (classify_accept_errno(err)) {
      case AcceptError::interrupted:
        continue;
      case AcceptError::would_block:
        return {AcceptResult::Status::would_block, {}};
      case AcceptError::connection_lost:
        return {AcceptResult::Status::skipped, {}};
      case AcceptError::machine_full:
        return {AcceptResult::Status::machine_full, {}, errno_code(err)};
      case AcceptError::fatal:
        break;
    }
    throw_errno("accept4(listener fd " + std::to_string(listen_fd) + ")", err);
  }
}

}  // namespace evq::epoll
