#include "evq/iocp/datagram_io.hpp"

#include <fmt/core.h>

#include <cstring>
#include <mutex>

#include "started.hpp"

namespace evq::iocp {

using detail::from_wsa;

UniqueSocket udp_loopback_socket(int family) {
  UniqueSocket s(::WSASocketW(family, SOCK_DGRAM, IPPROTO_UDP, nullptr, 0,
                              WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT));
  if (!s) throw_wsa_error("WSASocketW(SOCK_DGRAM, WSA_FLAG_OVERLAPPED)");
  sockaddr_storage at{};
  int length = 0;
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&at);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    length = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&at);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = ::htonl(INADDR_LOOPBACK);
    length = sizeof *a;
  }
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&at), length) == SOCKET_ERROR)
    throw_wsa_error("bind(UDP loopback, port 0)");
  return s;
}

std::uint16_t Address::port() const {
  if (storage.ss_family == AF_INET6)
    return ::ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return ::ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
}

std::string Address::to_string() const {
  char text[INET6_ADDRSTRLEN] = "?";
  if (storage.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, text, sizeof text);
    return fmt::format("[{}]:{}", text, port());
  }
  ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text, sizeof text);
  return fmt::format("{}:{}", text, port());
}

Address address_of(SOCKET s) {
  Address a;
  a.length = sizeof a.storage;
  if (::getsockname(s, reinterpret_cast<sockaddr*>(&a.storage), &a.length) == SOCKET_ERROR)
    throw_wsa_error("getsockname");
  return a;
}

// [snippet send-to]
Started start_send_to(SOCKET s, std::span<const char> datagram, const Address& to, OVERLAPPED& overlapped) {
  // WSASendTo copies the address before it returns; only the data is lent.
  WSABUF buffer{static_cast<ULONG>(datagram.size()), const_cast<char*>(datagram.data())};
  DWORD bytes = 0;
  int rc = ::WSASendTo(s, &buffer, 1, &bytes, 0, to.get(), to.length, &overlapped, nullptr);
  return from_wsa(rc, bytes);
}
// [/snippet send-to]

// [snippet recv-from]
Started start_recv_from(SOCKET s, std::span<char> buffer, RecvFrom& state, OVERLAPPED& overlapped) {
  // The sender's address and its length are written when the datagram arrives, long after this
  // call returns: they are lent to the kernel just like the data buffer.
  state.buffer = {static_cast<ULONG>(buffer.size()), buffer.data()};
  state.from = {};
  state.from.length = sizeof state.from.storage;
  state.flags = 0;
  DWORD bytes = 0;
  int rc = ::WSARecvFrom(s, &state.buffer, 1, &bytes, &state.flags,
                         reinterpret_cast<sockaddr*>(&state.from.storage), &state.from.length, &overlapped,
                         nullptr);
  return from_wsa(rc, bytes);
}
// [/snippet recv-from]

void enable_packet_info(SOCKET s) {
  DWORD on = 1;
  const bool v6 = socket_family(s) == AF_INET6;
  if (::setsockopt(s, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_PKTINFO : IP_PKTINFO,
                   reinterpret_cast<const char*>(&on), sizeof on) == SOCKET_ERROR)
    throw_wsa_error(v6 ? "setsockopt(IPV6_PKTINFO)" : "setsockopt(IP_PKTINFO)");
}

namespace {

// [snippet load-recv-msg]
// WSARecvMsg is an extension, found through the socket like AcceptEx; one lookup serves every
// socket of the process (the address is the provider's, not the socket's).
LPFN_WSARECVMSG recv_msg_function(SOCKET s) {
  static std::once_flag once;
  static LPFN_WSARECVMSG fn = nullptr;
  static std::error_code failure;
  std::call_once(once, [&] {
    GUID guid = WSAID_WSARECVMSG;
    DWORD bytes = 0;
    if (::WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, &fn, sizeof fn, &bytes, nullptr,
                   nullptr) == SOCKET_ERROR)
      failure = win32_code(static_cast<DWORD>(::WSAGetLastError()));
  });
  if (!fn) throw std::system_error(failure, "WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER, WSARecvMsg)");
  return fn;
}
// [/snippet load-recv-msg]

}  // namespace

// [snippet recv-msg]
Started start_recv_msg(SOCKET s, std::span<char> buffer, RecvMsg& state, OVERLAPPED& overlapped) {
  LPFN_WSARECVMSG recv_msg = recv_msg_function(s);
  state.buffer = {static_cast<ULONG>(buffer.size()), buffer.data()};
  state.from = {};
  std::memset(state.control, 0, sizeof state.control);
  state.msg = {};
  state.msg.name = reinterpret_cast<sockaddr*>(&state.from.storage);
  state.msg.namelen = sizeof state.from.storage;
  state.msg.lpBuffers = &state.buffer;
  state.msg.dwBufferCount = 1;
  state.msg.Control = {sizeof state.control, state.control};
  DWORD bytes = 0;
  int rc = recv_msg(s, &state.msg, &bytes, &overlapped, nullptr);
  return from_wsa(rc, bytes);
}
// [/snippet recv-msg]

std::optional<std::string> RecvMsg::destination() const {
  // The kernel rewrote msg.Control.len to the bytes of control data it stored.
  WSAMSG view = msg;
  for (WSACMSGHDR* c = WSA_CMSG_FIRSTHDR(&view); c; c = WSA_CMSG_NXTHDR(&view, c)) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      const auto* info = reinterpret_cast<const IN_PKTINFO*>(WSA_CMSG_DATA(c));
      ::inet_ntop(AF_INET, &info->ipi_addr, text, sizeof text);
      return std::string(text);
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      const auto* info = reinterpret_cast<const IN6_PKTINFO*>(WSA_CMSG_DATA(c));
      ::inet_ntop(AF_INET6, &info->ipi6_addr, text, sizeof text);
      return std::string(text);
    }
  }
  return std::nullopt;
}

Started start_send_msg(SOCKET s, std::span<const char> datagram, const Address& to, SendMsg& state,
                       OVERLAPPED& overlapped) {
  state.to = to;
  state.buffer = {static_cast<ULONG>(datagram.size()), const_cast<char*>(datagram.data())};
  state.msg = {};
  state.msg.name = reinterpret_cast<sockaddr*>(&state.to.storage);
  state.msg.namelen = state.to.length;
  state.msg.lpBuffers = &state.buffer;
  state.msg.dwBufferCount = 1;
  DWORD bytes = 0;
  int rc = ::WSASendMsg(s, &state.msg, 0, &bytes, &overlapped, nullptr);
  return from_wsa(rc, bytes);
}

}  // namespace evq::iocp
