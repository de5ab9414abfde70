#include "evq/common/win32.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace evq {
namespace {

// The symbolic names of the codes this project meets most, for messages: Wine 8's FormatMessage has no
// text for some of them (WAIT_TIMEOUT, ERROR_ABANDONED_WAIT_0), and a name is what a reader searches for.
const char* code_name(int code) {
  switch (code) {
    case WAIT_TIMEOUT:
      return "WAIT_TIMEOUT";
    case ERROR_ABANDONED_WAIT_0:
      return "ERROR_ABANDONED_WAIT_0";
    case ERROR_OPERATION_ABORTED:
      return "ERROR_OPERATION_ABORTED";
    case ERROR_IO_PENDING:
      return "ERROR_IO_PENDING";
    case ERROR_NETNAME_DELETED:
      return "ERROR_NETNAME_DELETED";
    case ERROR_CONNECTION_ABORTED:
      return "ERROR_CONNECTION_ABORTED";
    case ERROR_HANDLE_EOF:
      return "ERROR_HANDLE_EOF";
    case ERROR_INVALID_HANDLE:
      return "ERROR_INVALID_HANDLE";
    case ERROR_INVALID_PARAMETER:
      return "ERROR_INVALID_PARAMETER";
    case ERROR_FILE_NOT_FOUND:
      return "ERROR_FILE_NOT_FOUND";
    case ERROR_PATH_NOT_FOUND:
      return "ERROR_PATH_NOT_FOUND";
    case ERROR_ACCESS_DENIED:
      return "ERROR_ACCESS_DENIED";
    case ERROR_INSUFFICIENT_BUFFER:
      return "ERROR_INSUFFICIENT_BUFFER";
    case WSAECONNRESET:
      return "WSAECONNRESET";
    case WSAECONNREFUSED:
      return "WSAECONNREFUSED";
    case WSAECONNABORTED:
      return "WSAECONNABORTED";
    case WSAENOTSOCK:
      return "WSAENOTSOCK";
    case WSAENOTCONN:
      return "WSAENOTCONN";
    case WSAEINVAL:
      return "WSAEINVAL";
    default:
      return nullptr;
  }
}

class Win32Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "win32"; }

  std::string message(int code) const override {
    char* text = nullptr;
    DWORD length = ::FormatMessageA(
        FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr,
        static_cast<DWORD>(code), 0 /* any language: neutral, then the user's, then US English */,
        reinterpret_cast<char*>(&text), 0, nullptr);
    std::string message;
    if (length != 0 && text != nullptr) {
      message.assign(text, length);
      // FormatMessage ends its text with "\r\n" (and sometimes a '.' before it): trim the line end.
      while (!message.empty() && (message.back() == '\n' || message.back() == '\r' || message.back() == ' '))
        message.pop_back();
    }
    if (text != nullptr) ::LocalFree(text);
    if (message.empty()) message = "(no system text for this code)";
    const char* symbol = code_name(code);
    return symbol ? fmt::format("{} [error {} {}]", message, code, symbol)
                  : fmt::format("{} [error {}]", message, code);
  }
};

}  // namespace

const std::error_category& win32_category() noexcept {
  static const Win32Category category;
  return category;
}

void throw_win32(std::string_view call, DWORD err) {
  throw std::system_error(win32_code(err), std::string(call));
}

void throw_last_error(std::string_view call) {
  throw_win32(call, ::GetLastError());
}

void throw_wsa_error(std::string_view call) {
  throw_win32(call, static_cast<DWORD>(::WSAGetLastError()));
}

void UniqueHandle::reset(HANDLE h) noexcept {
  if (h == INVALID_HANDLE_VALUE) h = nullptr;
  if (h_ != nullptr && h_ != h) ::CloseHandle(h_);
  h_ = h;
}

void UniqueSocket::reset(SOCKET s) noexcept {
  if (s_ != INVALID_SOCKET && s_ != s) ::closesocket(s_);
  s_ = s;
}

WsaSession::WsaSession() {
  WSADATA data{};
  // WSAStartup returns its error directly instead of through WSAGetLastError.
  if (int err = ::WSAStartup(MAKEWORD(2, 2), &data); err != 0)
    throw_win32("WSAStartup(2.2)", static_cast<DWORD>(err));
}

WsaSession::~WsaSession() {
  ::WSACleanup();
}

namespace {

sockaddr_in loopback_address(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = ::htons(port);
  address.sin_addr.s_addr = ::htonl(INADDR_LOOPBACK);
  return address;
}

}  // namespace

UniqueSocket overlapped_tcp_socket(int family) {
  SOCKET s = ::WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                          WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET)
    throw_wsa_error(fmt::format("WSASocketW({}, SOCK_STREAM, WSA_FLAG_OVERLAPPED)",
                                family == AF_INET6 ? "AF_INET6" : "AF_INET"));
  return UniqueSocket(s);
}

UniqueSocket listen_loopback_socket(int backlog, bool ipv6) {
  UniqueSocket s = overlapped_tcp_socket(ipv6 ? AF_INET6 : AF_INET);
  if (ipv6) {
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_loopback;
    if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == SOCKET_ERROR)
      throw_wsa_error("bind([::1]:0)");
  } else {
    sockaddr_in address = loopback_address(0);
    if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == SOCKET_ERROR)
      throw_wsa_error("bind(127.0.0.1:0)");
  }
  if (::listen(s.get(), backlog) == SOCKET_ERROR) throw_wsa_error("listen");
  return s;
}

namespace {
sockaddr_storage local_address(SOCKET s) {
  sockaddr_storage address{};
  int length = sizeof address;
  if (::getsockname(s, reinterpret_cast<sockaddr*>(&address), &length) == SOCKET_ERROR)
    throw_wsa_error("getsockname");
  return address;
}
}  // namespace

std::uint16_t socket_port(SOCKET s) {
  sockaddr_storage address = local_address(s);
  if (address.ss_family == AF_INET6)
    return ::ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  return ::ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

int socket_family(SOCKET s) {
  return local_address(s).ss_family;
}

UniqueSocket connect_loopback_socket(std::uint16_t port) {
  UniqueSocket s = overlapped_tcp_socket();
  sockaddr_in address = loopback_address(port);
  if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == SOCKET_ERROR)
    throw_wsa_error(fmt::format("connect(127.0.0.1:{})", port));
  return s;
}

SocketPair socket_pair() {
  UniqueSocket listener = listen_loopback_socket(1);
  UniqueSocket client = connect_loopback_socket(socket_port(listener.get()));
  SOCKET server = ::accept(listener.get(), nullptr, nullptr);
  if (server == INVALID_SOCKET) throw_wsa_error("accept");
  return {std::move(client), UniqueSocket(server)};
}

void send_all(SOCKET s, std::string_view data) {
  while (!data.empty()) {
    int chunk = static_cast<int>(std::min<std::size_t>(data.size(), 1 << 20));
    int n = ::send(s, data.data(), chunk, 0);
    if (n == SOCKET_ERROR) throw_wsa_error("send");
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string recv_exact(SOCKET s, std::size_t n) {
  std::string data(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    int chunk = static_cast<int>(std::min<std::size_t>(n - got, 1 << 20));
    int r = ::recv(s, data.data() + got, chunk, 0);
    if (r == SOCKET_ERROR) throw_wsa_error("recv");
    if (r == 0) break;  // end of stream
    got += static_cast<std::size_t>(r);
  }
  data.resize(got);
  return data;
}

void set_receive_timeout(SOCKET s, DWORD milliseconds) {
  if (::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, reinterpret_cast<const char*>(&milliseconds),
                   sizeof milliseconds) == SOCKET_ERROR)
    throw_wsa_error("setsockopt(SO_RCVTIMEO)");
}

void set_linger_reset(SOCKET s) {
  linger lg{1, 0};
  if (::setsockopt(s, SOL_SOCKET, SO_LINGER, reinterpret_cast<const char*>(&lg), sizeof lg) == SOCKET_ERROR)
    throw_wsa_error("setsockopt(SO_LINGER {1, 0})");
}

void shutdown_send(SOCKET s) {
  if (::shutdown(s, SD_SEND) == SOCKET_ERROR) throw_wsa_error("shutdown(SD_SEND)");
}

std::optional<std::string> wine_version() {
  // Real Windows has no such export; Wine's ntdll does. That difference is how programs detect Wine.
  HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
  if (ntdll == nullptr) return std::nullopt;
  using WineGetVersion = const char*(__cdecl*)();
  auto get_version =
      reinterpret_cast<WineGetVersion>(reinterpret_cast<void*>(::GetProcAddress(ntdll, "wine_get_version")));
  if (get_version == nullptr) return std::nullopt;
  const char* version = get_version();
  return std::string(version != nullptr ? version : "unknown");
}

unsigned processor_count() {
  SYSTEM_INFO info{};
  ::GetSystemInfo(&info);
  return info.dwNumberOfProcessors == 0 ? 1u : static_cast<unsigned>(info.dwNumberOfProcessors);
}

}  // namespace evq
