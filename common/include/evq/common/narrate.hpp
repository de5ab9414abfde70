// Narrated output for demos: every syscall a demo makes is told as a numbered step,
//
//   1. epoll_create1(EPOLL_CLOEXEC) -> fd 3
//      (the queue exists; nothing is watched yet)
//
// so a reader can follow the program next to the chapter's diagram. All output goes through fmt.
#pragma once

#include <fmt/core.h>

#include <string_view>
#include <utility>

namespace evq {

class Narrator {
 public:
  explicit Narrator(bool enabled = true) : enabled_(enabled) {}

  // "N. <text>": one numbered step.
  template <typename... Args>
  void step(fmt::format_string<Args...> format, Args&&... args) {
    if (!enabled_) return;
    fmt::print("{:>2}. {}\n", ++steps_, fmt::format(format, std::forward<Args>(args)...));
    std::fflush(stdout);
  }

  // An indented remark under the last step: why it matters.
  template <typename... Args>
  void aside(fmt::format_string<Args...> format, Args&&... args) {
    if (!enabled_) return;
    fmt::print("    ({})\n", fmt::format(format, std::forward<Args>(args)...));
    std::fflush(stdout);
  }

  // An unnumbered headline.
  template <typename... Args>
  void title(fmt::format_string<Args...> format, Args&&... args) {
    if (!enabled_) return;
    fmt::print("== {} ==\n", fmt::format(format, std::forward<Args>(args)...));
    std::fflush(stdout);
  }

  bool enabled() const { return enabled_; }

 private:
  bool enabled_;
  int steps_ = 0;
};

}  // namespace evq
