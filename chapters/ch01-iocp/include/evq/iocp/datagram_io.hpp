// Datagrams through a completion port: WSASendTo and WSARecvFrom, and WSASendMsg and WSARecvMsg,
// the pair that also carries control data (here IP_PKTINFO: the address a datagram was sent *to*).
//
// A UDP socket is associated with a port like a TCP one. What differs is what a completion means:
// a receive completes with exactly one datagram (or its first `buffer.size()` bytes, with
// WSAEMSGSIZE if it was longer), and says who sent it; a send completes once the datagram is handed
// to the stack, never partly. There is no connection, so no end of stream and no accept.
//
// WSARecvMsg is not exported by ws2_32.dll: like AcceptEx, a program asks for its address with
// WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER, WSAID_WSARECVMSG). WSASendMsg is exported.
//
// Everything a started receive writes into (the buffer, the sender's address and its length, the
// flags, the control buffer) is lent to the kernel with the OVERLAPPED, so it lives in one struct
// that must outlive the operation's packet.
#pragma once

#include "evq/common/win32.hpp"
#include "evq/iocp/overlapped_io.hpp"

#include <ws2tcpip.h>
#include <mswsock.h>

#include <optional>
#include <span>
#include <string>

namespace evq::iocp {

// An overlapped UDP socket bound to the loopback address of `family` (AF_INET: 127.0.0.1, AF_INET6:
// ::1), port 0 (the system picks one; socket_port() says which).
UniqueSocket udp_loopback_socket(int family = AF_INET);

// The loopback address of `s`'s family with `s`'s port: where to send to reach `s`.
struct Address {
  sockaddr_storage storage{};
  int length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  std::uint16_t port() const;
  std::string to_string() const;  // "127.0.0.1:5000" or "[::1]:5000"
};
Address address_of(SOCKET s);

// WSASendTo of one datagram to `to`.
Started start_send_to(SOCKET s, std::span<const char> datagram, const Address& to, OVERLAPPED& overlapped);

// What a WSARecvFrom writes into until its packet is dequeued.
struct RecvFrom {
  WSABUF buffer{};
  Address from;  // the sender, valid once the packet is dequeued
  DWORD flags = 0;
};
// WSARecvFrom of one datagram into `buffer`; `state` is lent with it.
Started start_recv_from(SOCKET s, std::span<char> buffer, RecvFrom& state, OVERLAPPED& overlapped);

// Turns on IP_PKTINFO (AF_INET) or IPV6_PKTINFO (AF_INET6): each WSARecvMsg then also reports the
// address the datagram was sent to, which a server bound to a wildcard address needs to answer
// from the same address.
void enable_packet_info(SOCKET s);

// What a WSARecvMsg writes into until its packet is dequeued: the data, the sender, the control
// messages (cmsghdr records), and the WSAMSG that points at all three.
struct RecvMsg {
  WSAMSG msg{};
  WSABUF buffer{};
  Address from;
  alignas(WSACMSGHDR) char control[128]{};
  // After the packet: the destination address from IP_PKTINFO/IPV6_PKTINFO, if the kernel sent it.
  std::optional<std::string> destination() const;
};
// WSARecvMsg (looked up through WSAIoctl once per process) of one datagram into `buffer`.
Started start_recv_msg(SOCKET s, std::span<char> buffer, RecvMsg& state, OVERLAPPED& overlapped);

// What a WSASendMsg reads until its packet is dequeued.
struct SendMsg {
  WSAMSG msg{};
  WSABUF buffer{};
  Address to;
};
// WSASendMsg of one datagram to `to`, with no control data.
Started start_send_msg(SOCKET s, std::span<const char> datagram, const Address& to, SendMsg& state,
                       OVERLAPPED& overlapped);

}  // namespace evq::iocp
