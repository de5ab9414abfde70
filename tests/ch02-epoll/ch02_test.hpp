// Helpers shared by the chapter 2 tests.
#pragma once

#include <chrono>
#include <string_view>
#include <vector>

#include "evq/epoll/poll.hpp"
#include "evq/test/support.hpp"

namespace evq::epoll::test {

using namespace std::chrono_literals;

// One epoll_wait: the events that arrived within `timeout` (0ms only looks, it never blocks).
inline std::vector<Event> wait_events(Poll& poll, std::chrono::milliseconds timeout) {
  Events events(16);
  poll.wait(events, timeout);
  return {events.begin(), events.end()};
}

// Waits (up to the test deadline) for the first batch of events.
inline std::vector<Event> next_events(Poll& poll) {
  return wait_events(poll, evq::test::kDeadline);
}

// Only looks: what is ready right now, without blocking.
inline std::vector<Event> ready_now(Poll& poll) {
  return wait_events(poll, 0ms);
}

inline std::string names(const std::vector<Event>& events) {
  std::string text = "[";
  for (const Event& e : events) text += (text.size() > 1 ? ", " : "") + describe(e.flags);
  return text + "]";
}

}  // namespace evq::epoll::test
