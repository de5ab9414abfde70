#include "evq/epoll/poll.hpp"

#include <cerrno>
#include <fmt/core.h>

#include "evq/common/error.hpp"
#include "evq/common/timeout.hpp"

namespace evq::epoll {

std::string describe(std::uint32_t flags) {
  static constexpr struct {
    std::uint32_t bit;
    const char* name;
  } kNames[] = {{EPOLLIN, "EPOLLIN"},   {EPOLLPRI, "EPOLLPRI"},         {EPOLLOUT, "EPOLLOUT"},
                {EPOLLERR, "EPOLLERR"}, {EPOLLHUP, "EPOLLHUP"},         {EPOLLRDHUP, "EPOLLRDHUP"},
                {EPOLLET, "EPOLLET"},   {EPOLLONESHOT, "EPOLLONESHOT"}, {EPOLLEXCLUSIVE, "EPOLLEXCLUSIVE"}};
  std::string text;
  for (auto [bit, name] : kNames) {
    if (!(flags & bit)) continue;
    if (!text.empty()) text += '|';
    text += name;
    flags &= ~bit;
  }
  if (flags) text += fmt::format("{}0x{:x}", text.empty() ? "" : "|", flags);
  return text.empty() ? "0" : text;
}

// [snippet registry-ctl]
namespace {
void control(int epfd, int op, const char* op_name, int fd, Token token, std::uint32_t interest) {
  epoll_event event{};
  event.events = interest;
  event.data.u64 = token;  // epoll hands this back untouched with every event for `fd`
  if (::epoll_ctl(epfd, op, fd, &event) < 0)
    throw_errno(fmt::format("epoll_ctl({}, fd {}, {})", op_name, fd, describe(interest)));
}
}  // namespace

void Registry::add(int fd, Token token, std::uint32_t interest) const {
  control(epfd_, EPOLL_CTL_ADD, "EPOLL_CTL_ADD", fd, token, interest);
}
void Registry::modify(int fd, Token token, std::uint32_t interest) const {
  control(epfd_, EPOLL_CTL_MOD, "EPOLL_CTL_MOD", fd, token, interest);
}
void Registry::remove(int fd) const {
  // Since Linux 2.6.9 the event argument of EPOLL_CTL_DEL is ignored; pass one for older kernels.
  control(epfd_, EPOLL_CTL_DEL, "EPOLL_CTL_DEL", fd, 0, 0);
}
// [/snippet registry-ctl]

Poll::Poll()
    : epfd_(check(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1(EPOLL_CLOEXEC)")), registry_(epfd_.get()) {}

// [snippet poll-wait]
std::size_t Poll::wait(Events& events, std::optional<std::chrono::milliseconds> timeout) {
  // -1 waits for ever; a longer timeout than an int holds (24.8 days) is clamped, never wrapped.
  int n = ::epoll_wait(epfd_.get(), events.raw_.data(), static_cast<int>(events.raw_.size()),
                       poll_timeout_ms(timeout));
  if (n < 0) {
    if (errno == EINTR)
      n = 0;  // a signal woke us: report "nothing yet", the caller loops
    else
      throw_errno("epoll_wait");
  }
  events.count_ = static_cast<std::size_t>(n);
  return events.count_;
}
// [/snippet poll-wait]

}  // namespace evq::epoll
