#include "evq/epoll/wakeup.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "evq/common/error.hpp"

namespace evq::epoll {

Wakeup::Wakeup() : fd_(check(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd(EFD_NONBLOCK)")) {}

void Wakeup::notify() const {
  std::uint64_t one = 1;
  // EAGAIN only when the counter would overflow 2^64-2: it is then readable anyway.
  if (::write(fd_.get(), &one, sizeof one) < 0 && errno != EAGAIN) throw_errno("write(eventfd)");
}

bool Wakeup::drain() const {
  std::uint64_t count = 0;
  if (::read(fd_.get(), &count, sizeof count) < 0) {
    if (errno == EAGAIN) return false;
    throw_errno("read(eventfd)");
  }
  return true;
}

}  // namespace evq::epoll
