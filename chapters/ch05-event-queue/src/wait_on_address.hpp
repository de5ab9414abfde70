// wait_on_address / wake_one_waiter: the operating system's "sleep while this word holds this value"
// (internal): Linux's futex(2), Windows' WaitOnAddress. What a std::mutex and condition variable are
// built on, without the mutex: a sleeping thread costs nothing until somebody changes the word and
// wakes it, and a waker whose target is not asleep makes no system call at all (parker.hpp).
//
// Two properties the Parker relies on:
//  - a wake may be spurious, and wait returns when the word changes or for no reason at all: the
//    caller always re-reads the word;
//  - wake_one_waiter() hands the kernel an address and never reads or writes the memory behind it,
//    so calling it for an object that its owner may already have freed is harmless (at worst an
//    unrelated waiter on a reused address wakes early, and re-reads its own word).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

// (The portability gate, tools/portability_gate.py, compiles on Linux what macOS and FreeBSD compile,
// so it asks for their branch with EVQ_PORTABILITY_GATE.)
#if defined(__linux__) && !defined(EVQ_PORTABILITY_GATE)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#define EVQ_PORT_HAVE_ADDRESS_WAIT 1
#elif defined(_WIN32)
#include <windows.h>  // WaitOnAddress, WakeByAddressSingle: link synchronization (CMakeLists.txt)
#define EVQ_PORT_HAVE_ADDRESS_WAIT 1
#else
#define EVQ_PORT_HAVE_ADDRESS_WAIT 0  // macOS, FreeBSD: parker.hpp falls back to a condition variable
#endif

#if EVQ_PORT_HAVE_ADDRESS_WAIT
namespace evq::port::detail {

using WaitClock = std::chrono::steady_clock;

// Sleeps while `word` holds `expected`, until woken or `deadline` (time_point::max(): no deadline).
// Returns false only when the deadline has passed; true means "look at the word again".
inline bool wait_on_address(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                            WaitClock::time_point deadline) {
  static_assert(sizeof(word) == sizeof(std::uint32_t), "the kernel waits on a plain 32-bit word");
#if defined(__linux__) && !defined(EVQ_PORTABILITY_GATE)
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, which is what steady_clock
  // reads on Linux: no drift from recomputing a relative timeout after a spurious wake.
  timespec at{};
  const timespec* until = nullptr;
  if (deadline != WaitClock::time_point::max()) {
    auto since = deadline.time_since_epoch();
    if (since.count() < 0) return false;
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
    at.tv_sec = static_cast<time_t>(secs.count());
    at.tv_nsec =
        static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(since - secs).count());
    until = &at;
  }
  long r =
      ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
                expected, until, nullptr, FUTEX_BITSET_MATCH_ANY);
  return !(r == -1 && errno == ETIMEDOUT);  // EAGAIN (the word had changed) and EINTR: look again
#else
  DWORD ms = INFINITE;
  if (deadline != WaitClock::time_point::max()) {
    auto left = deadline - WaitClock::now();
    if (left <= WaitClock::duration::zero()) return false;
    auto whole = std::chrono::ceil<std::chrono::milliseconds>(left).count();  // never wake early
    ms = whole >= static_cast<long long>(INFINITE) ? INFINITE - 1 : static_cast<DWORD>(whole);
  }
  if (::WaitOnAddress(reinterpret_cast<volatile VOID*>(&word), &expected, sizeof expected, ms)) return true;
  return ::GetLastError() != ERROR_TIMEOUT;
#endif
}

// Wakes one thread sleeping in wait_on_address(word, ...), if there is one.
inline void wake_one_waiter(std::atomic<std::uint32_t>& word) {
#if defined(__linux__) && !defined(EVQ_PORTABILITY_GATE)
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
#else
  ::WakeByAddressSingle(reinterpret_cast<PVOID>(&word));
#endif
}

}  // namespace evq::port::detail
#endif
