// Which backends this build has, and opening one by name ("epoll", "kqueue", "io_uring", "iocp").
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "evq/completion/queue.hpp"

namespace evq::completion {

struct BackendInfo {
  std::string name;
  bool usable = false;  // built in and working on this machine right now
  std::string why_not;  // when not usable: why, and what to install
};

// Every backend the chapter knows, in the order the book presents them, usable or not.
std::vector<BackendInfo> backends();

// The best usable backend of this platform: iocp on Windows, io_uring or else epoll on Linux, kqueue
// on BSD and macOS.
std::string default_backend();

// "" when the named backend can run here; otherwise why not (unknown name, not built, refused).
// Programs check their --backend argument with it before they start.
std::string why_not_usable(std::string_view name);

// Opens the named backend ("uring" is accepted for "io_uring"). Throws std::invalid_argument naming
// the backends there are, or saying why the one asked for cannot run here.
std::unique_ptr<CompletionQueue> open_queue(std::string_view name);

}  // namespace evq::completion
