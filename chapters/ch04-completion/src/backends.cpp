#include "evq/completion/backends.hpp"

#include <fmt/core.h>
#include <stdexcept>

#ifdef EVQ_COMPLETION_HAVE_EPOLL
#include "evq/completion/epoll_queue.hpp"
#endif
#ifdef EVQ_COMPLETION_HAVE_KQUEUE
#include "evq/completion/kqueue_queue.hpp"
#endif
#ifdef EVQ_COMPLETION_HAVE_URING
#include "evq/completion/uring_queue.hpp"
#endif
#ifdef EVQ_COMPLETION_HAVE_IOCP
#include "evq/completion/iocp_queue.hpp"
#endif

namespace evq::completion {

std::vector<BackendInfo> backends() {
  std::vector<BackendInfo> list;
#ifdef EVQ_COMPLETION_HAVE_EPOLL
  list.push_back({"epoll", true, ""});
#elif defined(__linux__)
  list.push_back({"epoll", false, "not built: chapter ch02-epoll is missing from this build"});
#else
  list.push_back({"epoll", false, "epoll is a Linux API"});
#endif
#ifdef EVQ_COMPLETION_HAVE_KQUEUE
  list.push_back({"kqueue", true, ""});
#elif defined(_WIN32)
  list.push_back({"kqueue", false, "kqueue is a BSD and macOS API (Linux builds use ch03's emulation)"});
#else
  list.push_back({"kqueue", false,
                  "not built: chapter ch03-kqueue (or its Linux emulation) is missing from this build"});
#endif
#ifdef EVQ_COMPLETION_HAVE_URING
  std::string why = UringQueue::unavailable_reason();
  list.push_back({"io_uring", why.empty(), why});
#elif defined(__linux__)
  list.push_back({"io_uring", false, "not built: liburing was not found (apt-get install liburing-dev)"});
#else
  list.push_back({"io_uring", false, "io_uring is a Linux API"});
#endif
#ifdef EVQ_COMPLETION_HAVE_IOCP
  list.push_back({"iocp", true, ""});
#else
  list.push_back(
      {"iocp", false, "IOCP is a Windows API (build with the windows-wine preset to run it under Wine)"});
#endif
  return list;
}

std::string default_backend() {
  for (const char* name : {"iocp", "io_uring", "epoll", "kqueue"})
    for (const BackendInfo& b : backends())
      if (b.name == name && b.usable) return b.name;
  throw std::runtime_error("no completion backend is usable in this build");
}

std::string why_not_usable(std::string_view name) {
  if (name == "uring") name = "io_uring";
  std::string names;
  for (const BackendInfo& b : backends()) {
    if (b.name == name)
      return b.usable ? "" : fmt::format("backend '{}' cannot run here: {}", name, b.why_not);
    if (b.usable) names += (names.empty() ? "" : ", ") + b.name;
  }
  return fmt::format("unknown backend '{}'; this build has: {}", name, names);
}

std::unique_ptr<CompletionQueue> open_queue(std::string_view name) {
  if (name == "uring") name = "io_uring";
  std::string names;
  for (const BackendInfo& b : backends()) {
    if (b.name == name && !b.usable)
      throw std::invalid_argument(fmt::format("backend '{}' cannot run here: {}", name, b.why_not));
    if (b.usable) names += (names.empty() ? "" : ", ") + b.name;
  }
#ifdef EVQ_COMPLETION_HAVE_EPOLL
  if (name == "epoll") return std::make_unique<EpollQueue>();
#endif
#ifdef EVQ_COMPLETION_HAVE_KQUEUE
  if (name == "kqueue") return std::make_unique<KqueueQueue>();
#endif
#ifdef EVQ_COMPLETION_HAVE_URING
  if (name == "io_uring") return std::make_unique<UringQueue>();
#endif
#ifdef EVQ_COMPLETION_HAVE_IOCP
  if (name == "iocp") return std::make_unique<IocpQueue>();
#endif
  throw std::invalid_argument(fmt::format("unknown backend '{}'; this build has: {}", name, names));
}

}  // namespace evq::completion
