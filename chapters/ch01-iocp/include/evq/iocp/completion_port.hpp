// evq::iocp::CompletionPort — a thin RAII layer over one I/O completion port.
//
// Each method is one Win32 call, named in its comment, so a reader sees the calls:
//
//   CompletionPort port(concurrency)      CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, n)
//   port.associate(socket, key)           CreateIoCompletionPort(socket, port, key, 0)
//   port.post(key, bytes, overlapped)     PostQueuedCompletionStatus
//   port.get(timeout)                     GetQueuedCompletionStatus
//   port.get_many(entries, timeout)       GetQueuedCompletionStatusEx
//   port.close()                          CloseHandle
//
// What it adds: RAII, exceptions naming the call for real failures, and a GetResult that keeps
// apart the four things GetQueuedCompletionStatus can mean (Win32 folds them into one BOOL):
// a packet of successful I/O, a packet of failed I/O, a timeout, and a closed port.
#pragma once

#include "evq/common/win32.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <system_error>

namespace evq::iocp {

// What the port hands back with a packet: the key given at association (or to post), the byte
// count, and the OVERLAPPED the operation was started with (post may pass any pointer, even null).
struct Packet {
  ULONG_PTR key = 0;
  DWORD bytes = 0;
  OVERLAPPED* overlapped = nullptr;
};

// [snippet get-result]
// The outcome of one GetQueuedCompletionStatus call.
enum class GetStatus {
  completed,  // a packet was dequeued and its I/O succeeded (or it was posted)
  failed,     // a packet was dequeued but its I/O failed: `error` says why (e.g. operation aborted)
  timed_out,  // no packet within the timeout (WAIT_TIMEOUT); nothing was dequeued
  closed,     // the port was closed while we waited (ERROR_ABANDONED_WAIT_0); nothing was dequeued
};

struct GetResult {
  GetStatus status = GetStatus::timed_out;
  Packet packet;          // valid for completed and failed
  std::error_code error;  // set for failed, timed_out and closed (the raw Win32 code)

  bool has_packet() const { return status == GetStatus::completed || status == GetStatus::failed; }
};
// [/snippet get-result]

// "completed", "failed", "timed out", "closed": for narration and test messages.
const char* to_string(GetStatus status);

// The outcome of one GetQueuedCompletionStatusEx call: how many entries it filled (1..N), or why none.
struct GetManyResult {
  GetStatus status = GetStatus::timed_out;  // completed when count > 0, else timed_out or closed
  std::size_t count = 0;
};

// The error of one OVERLAPPED_ENTRY from get_many: GetQueuedCompletionStatusEx reports per-entry
// failure only through the NTSTATUS the kernel left in OVERLAPPED::Internal.
std::error_code entry_error(const OVERLAPPED_ENTRY& entry);

// nullopt waits for ever (INFINITE); 0ms only looks.
using Timeout = std::optional<std::chrono::milliseconds>;

class CompletionPort {
 public:
  // CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, concurrency). Concurrency 0 means
  // "as many running threads as there are processors".
  explicit CompletionPort(DWORD concurrency = 0);

  HANDLE handle() const noexcept { return port_; }

  // CreateIoCompletionPort(handle, port, key, 0): from now on every overlapped operation on
  // `handle` queues its completion packet here, carrying `key`. There is no "un-associate".
  void associate(HANDLE handle, ULONG_PTR key) const;
  void associate(SOCKET socket, ULONG_PTR key) const;

  // PostQueuedCompletionStatus: queue a packet of our own; it is dequeued like any I/O packet.
  void post(ULONG_PTR key, DWORD bytes = 0, OVERLAPPED* overlapped = nullptr) const;

  // GetQueuedCompletionStatus: dequeue one packet, waiting up to `timeout`. Never throws for a
  // timeout, a failed I/O or a closed port (see GetResult); throws for anything else.
  GetResult get(Timeout timeout) const;

  // GetQueuedCompletionStatusEx (not alertable): dequeue between 1 and entries.size() packets,
  // returning as soon as at least one is there.
  GetManyResult get_many(std::span<OVERLAPPED_ENTRY> entries, Timeout timeout) const;

  // CloseHandle: releases the port. Threads blocked in get() or get_many() return `closed`.
  // Call it once, from one thread; calling get() afterwards is a bug (the handle value is stale).
  void close() noexcept;

 private:
  UniqueHandle owner_;
  HANDLE port_;  // the same handle, read (never written) by the waiting threads
};

}  // namespace evq::iocp
