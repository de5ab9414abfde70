#include "evq/iocp/overlapped_io.hpp"

#include <fmt/core.h>

#include "started.hpp"

namespace evq::iocp {

using detail::from_bool;
using detail::from_wsa;

const char* to_string(Started::State state) {
  switch (state) {
    case Started::completed_now:
      return "completed at once";
    case Started::pending:
      return "pending (ERROR_IO_PENDING)";
    case Started::failed:
      return "failed to start";
  }
  return "?";
}

namespace {

template <typename Fn>
Fn load_extension(SOCKET s, GUID guid, const char* name) {
  Fn fn = nullptr;
  DWORD bytes = 0;
  if (::WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, &fn, sizeof fn, &bytes, nullptr,
                 nullptr) == SOCKET_ERROR)
    throw_wsa_error(fmt::format("WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER, {})", name));
  return fn;
}

void set_overlapped_offset(OVERLAPPED& overlapped, std::uint64_t offset) {
  overlapped.Offset = static_cast<DWORD>(offset & 0xFFFFFFFFu);
  overlapped.OffsetHigh = static_cast<DWORD>(offset >> 32);
}

}  // namespace

SocketExtensions load_socket_extensions(SOCKET s) {
  SocketExtensions ext;
  ext.accept_ex = load_extension<LPFN_ACCEPTEX>(s, WSAID_ACCEPTEX, "AcceptEx");
  ext.connect_ex = load_extension<LPFN_CONNECTEX>(s, WSAID_CONNECTEX, "ConnectEx");
  ext.get_accept_ex_sockaddrs =
      load_extension<LPFN_GETACCEPTEXSOCKADDRS>(s, WSAID_GETACCEPTEXSOCKADDRS, "GetAcceptExSockaddrs");
  return ext;
}

const SocketExtensions& socket_extensions() {
  static const SocketExtensions ext = [] {
    WsaSession session;
    UniqueSocket probe = overlapped_tcp_socket();
    return load_socket_extensions(probe.get());
  }();
  return ext;
}

// [snippet start-recv]
Started start_recv(SOCKET s, std::span<char> buffer, OVERLAPPED& overlapped) {
  WSABUF wsabuf{static_cast<ULONG>(buffer.size()), buffer.data()};
  DWORD bytes = 0, flags = 0;
  // The WSABUF array itself may be temporary (WinSock copies it); the bytes it points to may not.
  int rc = ::WSARecv(s, &wsabuf, 1, &bytes, &flags, &overlapped, nullptr);
  return from_wsa(rc, bytes);
}
// [/snippet start-recv]

Started start_send(SOCKET s, std::span<const char> buffer, OVERLAPPED& overlapped) {
  WSABUF wsabuf{static_cast<ULONG>(buffer.size()), const_cast<char*>(buffer.data())};
  DWORD bytes = 0;
  int rc = ::WSASend(s, &wsabuf, 1, &bytes, 0, &overlapped, nullptr);
  return from_wsa(rc, bytes);
}

// [snippet start-accept]
Started start_accept(SOCKET listener, SOCKET accepted, std::span<char> addresses, OVERLAPPED& overlapped) {
  if (addresses.size() < kAcceptAddressBytes)
    return {Started::failed, 0, win32_code(ERROR_INSUFFICIENT_BUFFER)};
  constexpr DWORD kAddressLength = sizeof(sockaddr_in6) + 16;  // AcceptEx wants 16 bytes of slack
  DWORD bytes = 0;
  // Receive length 0: complete as soon as a peer connects, not when it has sent something.
  BOOL ok = socket_extensions().accept_ex(listener, accepted, addresses.data(), 0, kAddressLength,
                                          kAddressLength, &bytes, &overlapped);
  return from_bool(ok, bytes, ok ? 0 : static_cast<DWORD>(::WSAGetLastError()));
}
// [/snippet start-accept]

void finish_accept(SOCKET listener, SOCKET accepted) {
  if (::setsockopt(accepted, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, reinterpret_cast<const char*>(&listener),
                   sizeof listener) == SOCKET_ERROR)
    throw_wsa_error("setsockopt(SO_UPDATE_ACCEPT_CONTEXT)");
}

Started start_connect(SOCKET s, std::uint16_t port, OVERLAPPED& overlapped) {
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = ::htonl(INADDR_LOOPBACK);
  if (::bind(s, reinterpret_cast<const sockaddr*>(&local), sizeof local) == SOCKET_ERROR)
    return {Started::failed, 0, win32_code(static_cast<DWORD>(::WSAGetLastError()))};
  sockaddr_in remote = local;
  remote.sin_port = ::htons(port);
  DWORD bytes = 0;
  BOOL ok = socket_extensions().connect_ex(s, reinterpret_cast<const sockaddr*>(&remote), sizeof remote,
                                           nullptr, 0, &bytes, &overlapped);
  return from_bool(ok, bytes, ok ? 0 : static_cast<DWORD>(::WSAGetLastError()));
}

void finish_connect(SOCKET s) {
  if (::setsockopt(s, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, nullptr, 0) == SOCKET_ERROR)
    throw_wsa_error("setsockopt(SO_UPDATE_CONNECT_CONTEXT)");
}

// [snippet start-read-file]
Started start_read_file(HANDLE file, std::span<char> buffer, std::uint64_t offset, OVERLAPPED& overlapped) {
  set_overlapped_offset(overlapped, offset);
  DWORD bytes = 0;
  BOOL ok = ::ReadFile(file, buffer.data(), static_cast<DWORD>(buffer.size()), &bytes, &overlapped);
  DWORD err = ok ? 0 : ::GetLastError();
  // Reading at or past the end of the file fails at once with ERROR_HANDLE_EOF (and queues nothing).
  return from_bool(ok, bytes, err);
}
// [/snippet start-read-file]

Started start_write_file(HANDLE file, std::span<const char> buffer, std::uint64_t offset,
                         OVERLAPPED& overlapped) {
  set_overlapped_offset(overlapped, offset);
  DWORD bytes = 0;
  BOOL ok = ::WriteFile(file, buffer.data(), static_cast<DWORD>(buffer.size()), &bytes, &overlapped);
  return from_bool(ok, bytes, ok ? 0 : ::GetLastError());
}

void skip_completion_port_on_success(HANDLE handle) {
  if (!::SetFileCompletionNotificationModes(handle, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS))
    throw_last_error("SetFileCompletionNotificationModes(FILE_SKIP_COMPLETION_PORT_ON_SUCCESS)");
}

}  // namespace evq::iocp
