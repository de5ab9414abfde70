#include "evq/kq/kqueue.hpp"

#include <fmt/core.h>

#include <cerrno>
#include <vector>

#include "evq/common/error.hpp"
#include "evq/kq/describe.hpp"

namespace evq::kq {
namespace {

// The emulation can say in words why it refused something; a real kernel only gives errno.
std::string reason() {
#ifdef EVQ_KQUEUE_EMULATION
  std::string why = kqueue_emulation_why();
  return why.empty() ? "" : " [kqueue emulation: " + why + "]";
#else
  return "";
#endif
}

}  // namespace

struct kevent change(uintptr_t ident, short filter, unsigned short flags, unsigned fflags, std::int64_t data,
                     void* udata) {
  struct kevent ev {};
  EV_SET(&ev, ident, filter, flags, fflags, data, udata);
  return ev;
}

Kqueue::Kqueue() : fd_(check(::kqueue(), "kqueue")) {}

// [snippet kqueue-kevent]
std::size_t Kqueue::kevent(std::span<const struct kevent> changes, std::span<struct kevent> events,
                           std::optional<std::chrono::nanoseconds> timeout) {
  timespec ts{};
  if (timeout) {
    ts.tv_sec = static_cast<time_t>(timeout->count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout->count() % 1'000'000'000);
  }
  int n = ::kevent(fd_.get(), changes.data(), static_cast<int>(changes.size()), events.data(),
                   static_cast<int>(events.size()), timeout ? &ts : nullptr);
  if (n < 0) {
    if (errno == EINTR) return 0;  // a signal: "nothing yet", the caller loops
    int err = errno;
    throw_errno(fmt::format("kevent(kq {}, {} changes, {} events){}", fd_.get(), changes.size(),
                            events.size(), reason()),
                err);
  }
  return static_cast<std::size_t>(n);
}
// [/snippet kqueue-kevent]

// [snippet kqueue-apply]
void Kqueue::apply(std::span<const struct kevent> changes) {
  std::vector<struct kevent> list(changes.begin(), changes.end());
  for (struct kevent& ev : list) ev.flags |= EV_RECEIPT;  // one EV_ERROR answer per change
  std::vector<struct kevent> answers(list.size());
  std::size_t n = kevent(list, answers, std::chrono::nanoseconds(0));
  for (std::size_t i = 0; i < n; ++i) {
    if (answers[i].data == 0) continue;
    std::string what = reason();
    throw_errno(fmt::format("kevent({} {} ident {}){}", flags_name(list[i].flags & ~EV_RECEIPT),
                            filter_name(list[i].filter), list[i].ident, what),
                static_cast<int>(answers[i].data));
  }
}
// [/snippet kqueue-apply]

}  // namespace evq::kq
