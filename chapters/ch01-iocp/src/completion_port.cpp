#include "evq/iocp/completion_port.hpp"

#include <fmt/core.h>
#include <winternl.h>  // RtlNtStatusToDosError

namespace evq::iocp {

namespace {
DWORD to_milliseconds(Timeout timeout) {
  if (!timeout) return INFINITE;
  auto ms = timeout->count();
  if (ms < 0) return 0;
  // INFINITE is 0xFFFFFFFF: a finite wait must stay below it.
  return ms >= static_cast<long long>(INFINITE) ? INFINITE - 1 : static_cast<DWORD>(ms);
}
}  // namespace

const char* to_string(GetStatus status) {
  switch (status) {
    case GetStatus::completed:
      return "completed";
    case GetStatus::failed:
      return "failed";
    case GetStatus::timed_out:
      return "timed out";
    case GetStatus::closed:
      return "closed";
  }
  return "?";
}

std::error_code entry_error(const OVERLAPPED_ENTRY& entry) {
  if (entry.lpOverlapped == nullptr) return {};  // a posted packet: no I/O, no status
  auto status = static_cast<NTSTATUS>(entry.lpOverlapped->Internal);
  if (status >= 0) return {};  // NT_SUCCESS
  return win32_code(::RtlNtStatusToDosError(status));
}

// [snippet port-create]
CompletionPort::CompletionPort(DWORD concurrency)
    : owner_(::CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, concurrency)), port_(owner_.get()) {
  if (!owner_) throw_last_error(fmt::format("CreateIoCompletionPort(concurrency {})", concurrency));
}

void CompletionPort::associate(HANDLE handle, ULONG_PTR key) const {
  // The same function, second job: with an existing port it returns that port on success.
  if (::CreateIoCompletionPort(handle, port_, key, 0) != port_)
    throw_last_error(fmt::format("CreateIoCompletionPort(associate handle, key {})", key));
}
// [/snippet port-create]

void CompletionPort::associate(SOCKET socket, ULONG_PTR key) const {
  associate(reinterpret_cast<HANDLE>(socket), key);
}

void CompletionPort::post(ULONG_PTR key, DWORD bytes, OVERLAPPED* overlapped) const {
  if (!::PostQueuedCompletionStatus(port_, bytes, key, overlapped))
    throw_last_error(fmt::format("PostQueuedCompletionStatus(key {})", key));
}

// [snippet port-get]
GetResult CompletionPort::get(Timeout timeout) const {
  GetResult result;
  BOOL ok = ::GetQueuedCompletionStatus(port_, &result.packet.bytes, &result.packet.key,
                                        &result.packet.overlapped, to_milliseconds(timeout));
  if (ok) {
    result.status = GetStatus::completed;
    return result;
  }
  DWORD err = ::GetLastError();
  result.error = win32_code(err);
  if (result.packet.overlapped != nullptr) {
    // FALSE with an OVERLAPPED: a packet WAS dequeued; the I/O it reports failed.
    result.status = GetStatus::failed;
    return result;
  }
  // FALSE without an OVERLAPPED: nothing was dequeued. Why?
  if (err == WAIT_TIMEOUT) {
    result.status = GetStatus::timed_out;
  } else if (err == ERROR_ABANDONED_WAIT_0) {
    result.status = GetStatus::closed;  // the port handle was closed under us
  } else {
    throw_win32("GetQueuedCompletionStatus", err);
  }
  return result;
}
// [/snippet port-get]

// [snippet port-get-many]
GetManyResult CompletionPort::get_many(std::span<OVERLAPPED_ENTRY> entries, Timeout timeout) const {
  ULONG count = 0;
  if (::GetQueuedCompletionStatusEx(port_, entries.data(), static_cast<ULONG>(entries.size()), &count,
                                    to_milliseconds(timeout), FALSE)) {
    return {GetStatus::completed, count};
  }
  DWORD err = ::GetLastError();
  if (err == WAIT_TIMEOUT) return {GetStatus::timed_out, 0};
  if (err == ERROR_ABANDONED_WAIT_0) return {GetStatus::closed, 0};
  throw_win32(fmt::format("GetQueuedCompletionStatusEx(up to {})", entries.size()), err);
}
// [/snippet port-get-many]

void CompletionPort::close() noexcept {
  owner_.reset();
}

}  // namespace evq::iocp
