#include "evq/iocp/pipe_io.hpp"

#include <winioctl.h>

#include <fmt/core.h>
#include <fmt/xchar.h>

#include <atomic>

#include "started.hpp"

// The named-pipe file-system control codes are in the driver kit's ntifs.h, not in the user-mode
// headers: define the one this file needs from its documented parts.
#ifndef FSCTL_PIPE_LISTEN
#define FSCTL_PIPE_LISTEN CTL_CODE(FILE_DEVICE_NAMED_PIPE, 2, METHOD_BUFFERED, FILE_ANY_ACCESS)
#endif

namespace evq::iocp {

using detail::from_bool;

const char* to_string(PipeConnect::State state) {
  switch (state) {
    case PipeConnect::pending:
      return "pending (ERROR_IO_PENDING)";
    case PipeConnect::already_connected:
      return "already connected (ERROR_PIPE_CONNECTED: no packet)";
    case PipeConnect::failed:
      return "failed to start";
  }
  return "?";
}

std::wstring unique_pipe_name() {
  static std::atomic<unsigned> next{0};
  return fmt::format(L"\\\\.\\pipe\\evq-{}-{}", ::GetCurrentProcessId(), next++);
}

UniqueHandle create_pipe_server(const std::wstring& name) {
  // [snippet pipe-server]
  UniqueHandle pipe(::CreateNamedPipeW(
      name.c_str(), PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
      PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
      /*instances=*/1, /*out buffer=*/4096, /*in buffer=*/4096,
      /*default timeout ms=*/0, nullptr));
  // [/snippet pipe-server]
  if (!pipe) throw_last_error("CreateNamedPipeW(FILE_FLAG_OVERLAPPED, PIPE_TYPE_MESSAGE)");
  return pipe;
}

UniqueHandle open_pipe_client(const std::wstring& name) {
  UniqueHandle pipe(::CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                                  FILE_FLAG_OVERLAPPED, nullptr));
  if (!pipe) throw_last_error("CreateFileW(pipe client, FILE_FLAG_OVERLAPPED)");
  DWORD mode = PIPE_READMODE_MESSAGE;
  if (!::SetNamedPipeHandleState(pipe.get(), &mode, nullptr, nullptr))
    throw_last_error("SetNamedPipeHandleState(PIPE_READMODE_MESSAGE)");
  return pipe;
}

namespace {

// [snippet pipe-connected]
PipeConnect from_connect(BOOL ok, DWORD err) {
  // An overlapped ConnectNamedPipe "should" never return TRUE; treat it as pending like a packet.
  if (ok || err == ERROR_IO_PENDING) return {PipeConnect::pending, {}};
  // The client came first: connected, and no packet will say so.
  if (err == ERROR_PIPE_CONNECTED) return {PipeConnect::already_connected, {}};
  return {PipeConnect::failed, win32_code(err)};
}
// [/snippet pipe-connected]

}  // namespace

PipeConnect start_connect_named_pipe(HANDLE server, OVERLAPPED& overlapped) {
  BOOL ok = ::ConnectNamedPipe(server, &overlapped);
  return from_connect(ok, ok ? 0 : ::GetLastError());
}

// [snippet pipe-listen-ioctl]
PipeConnect start_pipe_listen_ioctl(HANDLE server, OVERLAPPED& overlapped) {
  DWORD bytes = 0;  // FSCTL_PIPE_LISTEN has no input and no output buffer
  BOOL ok = ::DeviceIoControl(server, FSCTL_PIPE_LISTEN, nullptr, 0, nullptr, 0, &bytes, &overlapped);
  return from_connect(ok, ok ? 0 : ::GetLastError());
}
// [/snippet pipe-listen-ioctl]

Started start_transact(HANDLE pipe, std::span<const char> request, std::span<char> reply,
                       OVERLAPPED& overlapped) {
  DWORD bytes = 0;
  BOOL ok = ::TransactNamedPipe(pipe, const_cast<char*>(request.data()), static_cast<DWORD>(request.size()),
                                reply.data(), static_cast<DWORD>(reply.size()), &bytes, &overlapped);
  return from_bool(ok, bytes, ok ? 0 : ::GetLastError());
}

}  // namespace evq::iocp
