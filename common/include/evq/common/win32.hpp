// Windows-only foundations: Win32 and WinSock errors as exceptions that name the call, RAII owners
// for HANDLE and SOCKET, the WinSock session, loopback helpers and Wine detection.
//
// Why an error category of our own: libstdc++ 12 (mingw-w64) maps std::system_category() onto errno
// text, so `std::system_error(ERROR_ABANDONED_WAIT_0, std::system_category())` would print nonsense.
// evq::win32_category() asks Windows itself (FormatMessage), so what() reads
// "GetQueuedCompletionStatus: The wait operation timed out. [258 WAIT_TIMEOUT]" and code() can be compared
// with a DWORD: `e.code() == evq::win32_code(ERROR_OPERATION_ABORTED)`.
//
// WinSock error codes (WSAECONNRESET = 10054, ...) are Win32 error codes too, so they share the category.
#pragma once

#ifndef _WIN32
#error "evq/common/win32.hpp is Windows-only (the ch01 chapter builds with mingw-w64 and runs under Wine)"
#endif

// winsock2.h must come before windows.h, or windows.h drags in the old winsock.h.
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace evq {

// ---- errors ---------------------------------------------------------------------------------

// The category of Win32 (and WinSock) error codes; message() comes from FormatMessage.
const std::error_category& win32_category() noexcept;

inline std::error_code win32_code(DWORD err) noexcept {
  return {static_cast<int>(err), win32_category()};
}

// Throws std::system_error(err, win32_category(), call).
[[noreturn]] void throw_win32(std::string_view call, DWORD err);
// The same with GetLastError().
[[noreturn]] void throw_last_error(std::string_view call);
// The same with WSAGetLastError(), for WinSock calls.
[[noreturn]] void throw_wsa_error(std::string_view call);

// ---- RAII -----------------------------------------------------------------------------------

// Owns a kernel HANDLE (a port, a file, an event) and calls CloseHandle once. Both "no handle"
// conventions of Win32 count as empty: nullptr (CreateIoCompletionPort, CreateEvent) and
// INVALID_HANDLE_VALUE (CreateFile).
class UniqueHandle {
 public:
  UniqueHandle() noexcept = default;
  explicit UniqueHandle(HANDLE h) noexcept : h_(h == INVALID_HANDLE_VALUE ? nullptr : h) {}
  UniqueHandle(UniqueHandle&& other) noexcept : h_(other.release()) {}
  UniqueHandle& operator=(UniqueHandle&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  ~UniqueHandle() { reset(); }

  [[nodiscard]] HANDLE get() const noexcept { return h_; }
  explicit operator bool() const noexcept { return h_ != nullptr; }
  [[nodiscard]] HANDLE release() noexcept { return std::exchange(h_, nullptr); }
  void reset(HANDLE h = nullptr) noexcept;

 private:
  HANDLE h_ = nullptr;
};

// Owns a SOCKET and calls closesocket once. Closing a socket cancels its pending overlapped
// operations: each still queues its (failed) completion packet, so the OVERLAPPED and buffer of an
// operation must outlive the socket until that packet is dequeued.
class UniqueSocket {
 public:
  UniqueSocket() noexcept = default;
  explicit UniqueSocket(SOCKET s) noexcept : s_(s) {}
  UniqueSocket(UniqueSocket&& other) noexcept : s_(other.release()) {}
  UniqueSocket& operator=(UniqueSocket&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueSocket(const UniqueSocket&) = delete;
  UniqueSocket& operator=(const UniqueSocket&) = delete;
  ~UniqueSocket() { reset(); }

  [[nodiscard]] SOCKET get() const noexcept { return s_; }
  // A SOCKET is a kernel handle: CreateIoCompletionPort and SetFileCompletionNotificationModes take it so.
  [[nodiscard]] HANDLE handle() const noexcept { return reinterpret_cast<HANDLE>(s_); }
  explicit operator bool() const noexcept { return s_ != INVALID_SOCKET; }
  [[nodiscard]] SOCKET release() noexcept { return std::exchange(s_, INVALID_SOCKET); }
  void reset(SOCKET s = INVALID_SOCKET) noexcept;

 private:
  SOCKET s_ = INVALID_SOCKET;
};

// WSAStartup(2.2) on construction, WSACleanup on destruction. Sessions nest (WinSock counts them),
// so every program, test and library object that uses sockets may simply hold one.
class WsaSession {
 public:
  WsaSession();
  ~WsaSession();
  WsaSession(const WsaSession&) = delete;
  WsaSession& operator=(const WsaSession&) = delete;
};

// ---- loopback helpers -----------------------------------------------------------------------
// Only 127.0.0.1 and a port the system picks (port 0): tests and demos never leave the machine.

// An overlapped-capable TCP socket (WSASocketW with WSA_FLAG_OVERLAPPED), not inheritable.
// `family` is AF_INET or AF_INET6 (AcceptEx wants the accepted socket of its listener's family).
UniqueSocket overlapped_tcp_socket(int family = AF_INET);

// A listener on 127.0.0.1 (or ::1) port 0.
UniqueSocket listen_loopback_socket(int backlog = SOMAXCONN, bool ipv6 = false);

// The port a bound socket got, and its address family (getsockname).
std::uint16_t socket_port(SOCKET s);
int socket_family(SOCKET s);

// A blocking connect() to 127.0.0.1:port. The socket is still overlapped-capable.
UniqueSocket connect_loopback_socket(std::uint16_t port);

// A connected TCP pair over loopback: the everyday fixture of the tests.
struct SocketPair {
  UniqueSocket client;
  UniqueSocket server;
};
SocketPair socket_pair();

// Blocking helpers for the client side of demos and tests. send_all retries partial sends;
// recv_exact returns fewer bytes only at end of stream. Both throw on a socket error.
void send_all(SOCKET s, std::string_view data);
std::string recv_exact(SOCKET s, std::size_t n);

// SO_RCVTIMEO on a blocking socket, so a test's blocking recv has a deadline.
void set_receive_timeout(SOCKET s, DWORD milliseconds);

// SO_LINGER {1, 0}: closesocket then sends RST instead of FIN — how a test plays a peer that resets.
void set_linger_reset(SOCKET s);

// shutdown(SD_SEND): a half-close; the peer reads end of stream and may still write to us.
void shutdown_send(SOCKET s);

// ---- the host ---------------------------------------------------------------------------------

// "8.0" when running under Wine (ntdll exports wine_get_version), nullopt on real Windows.
std::optional<std::string> wine_version();

// Logical processors (GetSystemInfo), the basis of the thread-pool rule of thumb.
unsigned processor_count();

}  // namespace evq
