// The semantics suite's view of a real Windows I/O completion port, called directly:
// CreateIoCompletionPort, PostQueuedCompletionStatus, GetQueuedCompletionStatus(Ex), CloseHandle.
// Built only for Windows; under Wine the same cases run against Wine's implementation.
#pragma once

#ifdef _WIN32
#include <windows.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/core.h>

#include "host.hpp"

namespace evq::test {

// Wine's ntdll exports wine_get_version; Windows' does not. nullptr on Windows.
inline const char* wine_version() {
  HMODULE ntdll = ::GetModuleHandleA("ntdll.dll");
  if (!ntdll) return nullptr;
  using Fn = const char*(__cdecl*)();
  auto fn = reinterpret_cast<Fn>(reinterpret_cast<void*>(::GetProcAddress(ntdll, "wine_get_version")));
  return fn ? fn() : nullptr;
}

class IocpPort {
 public:
  static constexpr const char* kName = "Windows IOCP";

  // Measured on Wine 8.0: waiters are released FIFO, the concurrency value is not enforced, and
  // CloseHandle does not wake threads blocked in GetQueuedCompletionStatus (they wait out their
  // timeout). Windows (since Vista) returns ERROR_ABANDONED_WAIT_0 to them.
  static Host host() {
    if (const char* wine = wine_version())
      return {fmt::format("Wine {} (its IOCP departs from Microsoft's article)", wine), false, false, false};
    return {"Windows", true, true, true};
  }

  explicit IocpPort(unsigned concurrency)
      : handle_(::CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, concurrency)) {
    REQUIRE_MESSAGE(handle_ != nullptr, "CreateIoCompletionPort failed: ", ::GetLastError());
  }
  ~IocpPort() { close(); }
  IocpPort(const IocpPort&) = delete;
  IocpPort& operator=(const IocpPort&) = delete;

  void post(std::uint64_t key) {
    REQUIRE(::PostQueuedCompletionStatus(handle_, 0, static_cast<ULONG_PTR>(key), nullptr));
  }

  // A failed I/O packet: what the I/O manager queues when an overlapped operation fails, here
  // queued by hand with ntdll's NtSetIoCompletion (PostQueuedCompletionStatus always says success).
  void post_failed_io(std::uint64_t key) {
    using Fn = LONG(NTAPI*)(HANDLE, ULONG_PTR, ULONG_PTR, LONG, ULONG_PTR);
    auto set = reinterpret_cast<Fn>(
        reinterpret_cast<void*>(::GetProcAddress(::GetModuleHandleA("ntdll.dll"), "NtSetIoCompletion")));
    const bool found = set != nullptr;
    REQUIRE_MESSAGE(found, "ntdll has no NtSetIoCompletion");
    const LONG kStatusConnectionReset = static_cast<LONG>(0xC000020DL);
    LONG status = set(handle_, static_cast<ULONG_PTR>(key), reinterpret_cast<ULONG_PTR>(&failed_op_),
                      kStatusConnectionReset, 0);
    REQUIRE(status == 0);
  }

  Got get(std::optional<std::chrono::milliseconds> timeout) {
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED* op = nullptr;
    BOOL ok = ::GetQueuedCompletionStatus(handle_, &bytes, &key, &op, to_ms(timeout));
    if (ok) return {port::Wait::packet, key, false};
    DWORD err = ::GetLastError();
    if (op != nullptr) return {port::Wait::packet, key, true};  // FALSE *with* a packet: failed I/O
    if (err == WAIT_TIMEOUT) return {port::Wait::timeout, 0, false};
    if (err == ERROR_ABANDONED_WAIT_0 || err == ERROR_INVALID_HANDLE) return {port::Wait::closed, 0, false};
    FAIL("GetQueuedCompletionStatus failed with error ", err);
    return {};
  }

  std::vector<std::uint64_t> get_many(std::size_t max, std::chrono::milliseconds timeout,
                                      port::Wait& status) {
    std::vector<OVERLAPPED_ENTRY> entries(max);
    ULONG removed = 0;
    BOOL ok = ::GetQueuedCompletionStatusEx(handle_, entries.data(), static_cast<ULONG>(max), &removed,
                                            to_ms(timeout), FALSE);
    std::vector<std::uint64_t> keys;
    if (!ok) {
      DWORD err = ::GetLastError();
      status = err == WAIT_TIMEOUT ? port::Wait::timeout : port::Wait::closed;
      return keys;
    }
    status = port::Wait::packet;
    for (ULONG i = 0; i < removed; ++i) keys.push_back(entries[i].lpCompletionKey);
    return keys;
  }

  // The kernel notices a thread that blocks elsewhere by itself: nothing to tell it.
  template <typename F>
  void block_elsewhere(F&& blocking_call) {
    blocking_call();
  }

  void close() {
    if (!closed_.exchange(true)) ::CloseHandle(handle_);
  }
  // Windows has no call that reads a port's concurrency value or its waiting threads.
  std::optional<unsigned> concurrency() const { return std::nullopt; }
  std::optional<std::size_t> waiting() const { return std::nullopt; }

 private:
  static DWORD to_ms(std::optional<std::chrono::milliseconds> timeout) {
    return timeout ? static_cast<DWORD>(timeout->count()) : INFINITE;
  }
  HANDLE handle_;
  std::atomic<bool> closed_{false};
  OVERLAPPED failed_op_{};
};

}  // namespace evq::test
#endif
