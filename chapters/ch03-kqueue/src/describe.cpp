#include "evq/kq/describe.hpp"

#include <fmt/core.h>

namespace evq::kq {

std::string filter_name(short filter) {
  switch (filter) {
    case EVFILT_READ:
      return "EVFILT_READ";
    case EVFILT_WRITE:
      return "EVFILT_WRITE";
    case EVFILT_TIMER:
      return "EVFILT_TIMER";
    case EVFILT_USER:
      return "EVFILT_USER";
    case EVFILT_VNODE:
      return "EVFILT_VNODE";
    case EVFILT_PROC:
      return "EVFILT_PROC";
    case EVFILT_SIGNAL:
      return "EVFILT_SIGNAL";
    default:
      return fmt::format("filter {}", filter);
  }
}

std::string flags_name(unsigned short flags) {
  static constexpr struct {
    unsigned short bit;
    const char* name;
  } kNames[] = {{EV_ADD, "EV_ADD"},         {EV_DELETE, "EV_DELETE"},     {EV_ENABLE, "EV_ENABLE"},
                {EV_DISABLE, "EV_DISABLE"}, {EV_ONESHOT, "EV_ONESHOT"},   {EV_CLEAR, "EV_CLEAR"},
                {EV_RECEIPT, "EV_RECEIPT"}, {EV_DISPATCH, "EV_DISPATCH"}, {EV_EOF, "EV_EOF"},
                {EV_ERROR, "EV_ERROR"}};
  std::string text;
  for (auto [bit, name] : kNames) {
    if (!(flags & bit)) continue;
    if (!text.empty()) text += '|';
    text += name;
    flags = static_cast<unsigned short>(flags & ~bit);
  }
  if (flags) text += fmt::format("{}0x{:x}", text.empty() ? "" : "|", flags);
  return text.empty() ? "0" : text;
}

std::string describe(const struct kevent& ev) {
  return fmt::format("{{ident {}, {}, {}, fflags 0x{:x}, data {}}}", ev.ident, filter_name(ev.filter),
                     flags_name(ev.flags), ev.fflags, ev.data);
}

}  // namespace evq::kq
