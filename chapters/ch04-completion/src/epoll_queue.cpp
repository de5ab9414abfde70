#include "evq/completion/epoll_queue.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "evq/common/error.hpp"

namespace evq::completion {
namespace {
// Sockets use their fd as the epoll token; the wake-up eventfd uses a token no fd can have.
constexpr evq::epoll::Token kWakeToken = ~evq::epoll::Token{0};
}  // namespace

EpollQueue::EpollQueue()
    : wakeup_(check(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd(EFD_CLOEXEC|EFD_NONBLOCK)")) {
  poll_.registry().add(wakeup_.get(), kWakeToken, EPOLLIN);
}

// [snippet epoll-watch]
void EpollQueue::watch(int fd) {
  // Once per socket, both directions, edge-triggered: no epoll_ctl per operation. The core retries
  // until EAGAIN on every edge, which is what edge-triggered mode asks of its user.
  poll_.registry().add(fd, static_cast<evq::epoll::Token>(fd), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
}
// [/snippet epoll-watch]

void EpollQueue::unwatch(int fd) {
  poll_.registry().remove(fd);
}

void EpollQueue::poll(std::vector<Readiness>& out, std::optional<std::chrono::milliseconds> timeout) {
  std::size_t n = poll_.wait(events_, timeout);
  for (std::size_t i = 0; i < n; ++i) {
    evq::epoll::Event e = events_[i];
    if (e.token == kWakeToken) {
      std::uint64_t count;
      [[maybe_unused]] ssize_t r = ::read(wakeup_.get(), &count, sizeof count);  // reset it; EAGAIN is fine
      continue;
    }
    bool failed = e.error() || e.hangup();
    out.push_back({static_cast<int>(e.token), e.readable() || e.read_closed() || failed,
                   e.writable() || failed, 0, e.read_closed() || failed});
  }
}

void EpollQueue::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wakeup_.get(), &one, sizeof one);  // only fails when already signalled
}

}  // namespace evq::completion
