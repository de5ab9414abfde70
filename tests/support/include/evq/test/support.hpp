// Helpers shared by every test: bounded waits and resource counts.
//
// Rules the tests follow (see CONTRIBUTING.md, "Tests"):
//  - every wait has a deadline, so a bug fails the test instead of hanging it;
//  - wait for a condition, never sleep "to let it settle";
//  - never assert a duration: the machine is shared and noisy.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>

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

// How a failed CHECK prints values. doctest prints an enum as its number ("CHECK( 1 == 0 )"), and
// a type without operator<< as "{?}". Every enum of the book has a to_string() beside it (Wait,
// GetStatus, Op, ...): with these, a failed check reads "CHECK( timeout == packet )", and an
// optional reads "nullopt" or its value.
namespace doctest {

template <typename E>
requires std::is_enum_v<E> && requires(E e) {
  { to_string(e) } -> std::convertible_to<std::string_view>;
}
struct StringMaker<E> {
  static String convert(E e) {
    return String(std::string(to_string(e)).c_str());  // the one constructor every doctest 2.4 has
  }
};

template <typename T>
struct StringMaker<std::optional<T>> {
  static String convert(const std::optional<T>& value) {
    if (!value) return "nullopt";
    return String("optional(") + StringMaker<T>::convert(*value) + ")";
  }
};

}  // namespace doctest
