// Named pipes through a completion port: ConnectNamedPipe (a server instance waits for its
// client), ReadFile and WriteFile on either end, and TransactNamedPipe (a write and a read in one
// operation, for message-mode pipes), all overlapped.
//
// A pipe handle is associated with a port like a file or a socket, and every one of those calls
// reports through the same three-way answer as the others (Started, overlapped_io.hpp), with one
// exception: ConnectNamedPipe on an instance whose client connected *before* the call fails with
// ERROR_PIPE_CONNECTED, which means "connected" and queues no packet at all. PipeConnect says so.
//
// Under the hood ConnectNamedPipe is DeviceIoControl(FSCTL_PIPE_LISTEN) and TransactNamedPipe is
// DeviceIoControl(FSCTL_PIPE_TRANSCEIVE): start_pipe_listen_ioctl makes the first of those calls
// itself, the chapter's example of an overlapped DeviceIoControl that works on any machine.
#pragma once

#include "evq/common/win32.hpp"
#include "evq/iocp/overlapped_io.hpp"

#include <span>
#include <string>

namespace evq::iocp {

// A name no other program (or test) of this machine uses: \\.\pipe\evq-<process id>-<n>.
std::wstring unique_pipe_name();

// CreateNamedPipeW: the first (and only) instance of `name`, overlapped, duplex, in message mode
// (each WriteFile is one message; a ReadFile too small for it fails with ERROR_MORE_DATA).
UniqueHandle create_pipe_server(const std::wstring& name);

// CreateFileW(name, OPEN_EXISTING, FILE_FLAG_OVERLAPPED), then SetNamedPipeHandleState to message
// read mode, which TransactNamedPipe requires of the client end.
UniqueHandle open_pipe_client(const std::wstring& name);

struct PipeConnect {
  enum State { pending, already_connected, failed };
  State state = failed;
  std::error_code error;  // for failed
  // already_connected queues no packet: the caller goes on at once and must not wait for one.
  bool packet_queued() const { return state == pending; }
};
const char* to_string(PipeConnect::State state);

// ConnectNamedPipe(server, &overlapped).
PipeConnect start_connect_named_pipe(HANDLE server, OVERLAPPED& overlapped);

// DeviceIoControl(server, FSCTL_PIPE_LISTEN, &overlapped): the same request, spelled as the ioctl
// that ConnectNamedPipe makes; the same three outcomes.
PipeConnect start_pipe_listen_ioctl(HANDLE server, OVERLAPPED& overlapped);

// TransactNamedPipe(pipe, request, reply, &overlapped): writes `request` as one message and reads
// one message into `reply`; completes once the reply is in (bytes = the reply's length).
Started start_transact(HANDLE pipe, std::span<const char> request, std::span<char> reply,
                       OVERLAPPED& overlapped);

}  // namespace evq::iocp
