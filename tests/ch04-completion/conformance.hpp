// What the conformance suite needs from each backend: how to open it (or why it cannot run here),
// and its name in test output. The suite itself is conformance.cpp; each test program compiles it
// for one backend (EVQ_CONFORMANCE_BACKEND), so `tools/lab test` counts the cases per backend.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

#ifdef EVQ_COMPLETION_HAVE_EPOLL
#include "evq/completion/epoll_queue.hpp"
TYPE_TO_STRING_AS("epoll", evq::completion::EpollQueue);
#endif
#ifdef EVQ_COMPLETION_HAVE_KQUEUE
#include "evq/completion/kqueue_queue.hpp"
TYPE_TO_STRING_AS("kqueue", evq::completion::KqueueQueue);
#endif
#ifdef EVQ_COMPLETION_HAVE_URING
#include "evq/completion/uring_queue.hpp"
TYPE_TO_STRING_AS("io_uring", evq::completion::UringQueue);
#endif
#ifdef EVQ_COMPLETION_HAVE_IOCP
#include "evq/completion/iocp_queue.hpp"
TYPE_TO_STRING_AS("iocp", evq::completion::IocpQueue);
#endif

namespace evq::completion::test {

// Opens a queue of backend Q, or returns nullptr after saying (MESSAGE) why Q cannot run here.
template <typename Q>
std::unique_ptr<Q> open_or_skip() {
#ifdef EVQ_COMPLETION_HAVE_URING
  if constexpr (std::is_same_v<Q, UringQueue>) {
    static const std::string why = UringQueue::unavailable_reason();
    if (!why.empty()) {
      MESSAGE("io_uring backend skipped on this machine: " << why);
      return nullptr;
    }
  }
#endif
  return std::make_unique<Q>();
}

}  // namespace evq::completion::test
