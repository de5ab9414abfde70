// Starting overlapped operations: one function per Win32 call, each answering the question every
// overlapped call leaves to its caller — "did it start, finish already, or fail to start?"
//
//   WSARecv / WSASend / AcceptEx / ConnectEx / ReadFile / WriteFile
//     returns success            -> Started::completed_now   (a packet is STILL queued, unless the
//                                                              handle has FILE_SKIP_COMPLETION_PORT_ON_SUCCESS)
//     fails with ERROR_IO_PENDING -> Started::pending         (the packet comes later)
//     fails with anything else    -> Started::failed          (NO packet will ever come)
//
// The buffer and the OVERLAPPED passed in are lent to the kernel: both must stay alive and
// untouched until the operation's packet has been dequeued (or, for `failed`, at once).
//
// AcceptEx and ConnectEx are not exported by ws2_32.dll: they are Microsoft extensions whose
// addresses a program asks for with WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER).
#pragma once

#include "evq/common/win32.hpp"

#include <mswsock.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

namespace evq::iocp {

struct Started {
  enum State { completed_now, pending, failed };
  State state = failed;
  DWORD bytes = 0;        // for completed_now: what the call reported synchronously
  std::error_code error;  // for failed

  // Will a completion packet reach the port for this operation?
  bool packet_queued(bool skip_on_success) const {
    return state == pending || (state == completed_now && !skip_on_success);
  }
};

const char* to_string(Started::State state);

// The Winsock extensions, looked up once per process (they are the same for every TCP socket).
struct SocketExtensions {
  LPFN_ACCEPTEX accept_ex = nullptr;
  LPFN_CONNECTEX connect_ex = nullptr;
  LPFN_GETACCEPTEXSOCKADDRS get_accept_ex_sockaddrs = nullptr;
};
// WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) for each, on any TCP socket `s`.
SocketExtensions load_socket_extensions(SOCKET s);
// The same, cached after the first call (thread-safe).
const SocketExtensions& socket_extensions();

// WSARecv of one buffer.
Started start_recv(SOCKET s, std::span<char> buffer, OVERLAPPED& overlapped);
// WSASend of one buffer.
Started start_send(SOCKET s, std::span<const char> buffer, OVERLAPPED& overlapped);

// AcceptEx on `listener` into the fresh socket `accepted`, receiving no data (so it completes as soon
// as a peer connects). `addresses` must hold at least kAcceptAddressBytes: AcceptEx writes both
// endpoints' addresses there.
inline constexpr std::size_t kAcceptAddressBytes = 2 * (sizeof(sockaddr_in6) + 16);
Started start_accept(SOCKET listener, SOCKET accepted, std::span<char> addresses, OVERLAPPED& overlapped);
// After AcceptEx completes: SO_UPDATE_ACCEPT_CONTEXT, so getpeername/shutdown work on `accepted`.
void finish_accept(SOCKET listener, SOCKET accepted);

// ConnectEx to 127.0.0.1:port. ConnectEx wants a bound socket: this binds `s` to 127.0.0.1:0 first.
Started start_connect(SOCKET s, std::uint16_t port, OVERLAPPED& overlapped);
// After ConnectEx completes: SO_UPDATE_CONNECT_CONTEXT.
void finish_connect(SOCKET s);

// ReadFile / WriteFile at `offset` (the offset travels in the OVERLAPPED: a handle opened with
// FILE_FLAG_OVERLAPPED has no file pointer of its own).
Started start_read_file(HANDLE file, std::span<char> buffer, std::uint64_t offset, OVERLAPPED& overlapped);
Started start_write_file(HANDLE file, std::span<const char> buffer, std::uint64_t offset,
                         OVERLAPPED& overlapped);

// SetFileCompletionNotificationModes(FILE_SKIP_COMPLETION_PORT_ON_SUCCESS): an operation on `handle`
// that completes at once no longer queues a packet; the caller handles its result inline.
void skip_completion_port_on_success(HANDLE handle);

}  // namespace evq::iocp
