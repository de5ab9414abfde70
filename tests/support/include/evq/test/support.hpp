// Helpers shared by every test: bounded waits and resource counts.
//
// Rules the tests follow (see README, "Writing a test"):
//  - every wait has a deadline, so a bug fails the test instead of hanging it;
//  - wait for a condition, never sleep "to let it settle";
//  - never assert a duration: the machine is shared and noisy.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

namespace evq::test {

using namespace std::chrono_literals;

// The longest any single wait in a test may take before it counts as a failure.
inline constexpr std::chrono::milliseconds kDeadline = 10s;

// Polls `condition` until it holds or `timeout` passes; returns whether it held.
template <typename Condition>
bool wait_until(Condition condition, std::chrono::milliseconds timeout = kDeadline) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

#ifndef _WIN32
// How many file descriptors this process has open (counts /proc/self/fd on Linux, /dev/fd
// elsewhere). Compare before and after to prove a server leaks nothing.
int open_fd_count();
#endif

}  // namespace evq::test
