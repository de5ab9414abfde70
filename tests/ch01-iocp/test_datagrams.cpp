// Datagrams through a completion port: WSASendTo / WSARecvFrom over 127.0.0.1 and ::1, and
// WSASendMsg / WSARecvMsg (the second found through WSAIoctl) with IP_PKTINFO telling the
// destination address of each datagram.
#include <doctest/doctest.h>

#include <array>
#include <string>

#include "evq/iocp/completion_port.hpp"
#include "evq/iocp/datagram_io.hpp"
#include "evq/test/support.hpp"
#include "host.hpp"

using evq::iocp::CompletionPort;
using evq::iocp::GetStatus;
using evq::iocp::Started;

namespace {

// The next packet, which must be `op`'s and must have succeeded.
DWORD completed_bytes(CompletionPort& port, OVERLAPPED& op, ULONG_PTR key) {
  evq::iocp::GetResult r = port.get(evq::test::kDeadline);
  REQUIRE_MESSAGE(r.status == GetStatus::completed, std::string(evq::iocp::to_string(r.status)), " ",
                  r.error.message());
  CHECK(r.packet.overlapped == &op);
  CHECK(r.packet.key == key);
  return r.packet.bytes;
}

}  // namespace

TEST_CASE("WSARecvFrom completes with one datagram and its sender, over 127.0.0.1 and ::1") {
  evq::WsaSession session;
  for (int family : {AF_INET, AF_INET6}) {
    INFO(std::string(family == AF_INET ? "127.0.0.1" : "::1"));
    CompletionPort port(1);
    evq::UniqueSocket receiver = evq::iocp::udp_loopback_socket(family);
    evq::UniqueSocket sender = evq::iocp::udp_loopback_socket(family);
    constexpr ULONG_PTR kReceiver = 1, kSender = 2;
    port.associate(receiver.get(), kReceiver);
    port.associate(sender.get(), kSender);

    // The receive goes first and waits: nothing has been sent.
    std::array<char, 64> buffer{};
    evq::iocp::RecvFrom from;
    OVERLAPPED recv_op{};
    Started r = evq::iocp::start_recv_from(receiver.get(), buffer, from, recv_op);
    REQUIRE_MESSAGE(r.state == Started::pending, std::string(evq::iocp::to_string(r.state)), " ",
                    r.error.message());

    const std::string datagram = "one datagram";
    OVERLAPPED send_op{};
    Started s =
        evq::iocp::start_send_to(sender.get(), datagram, evq::iocp::address_of(receiver.get()), send_op);
    REQUIRE_MESSAGE(s.state != Started::failed, s.error.message());

    // Two packets, in either order: the send's (whole, never partial) and the receive's.
    bool got_send = false, got_recv = false;
    for (int i = 0; i < 2; ++i) {
      evq::iocp::GetResult g = port.get(evq::test::kDeadline);
      REQUIRE_MESSAGE(g.status == GetStatus::completed, std::string(evq::iocp::to_string(g.status)), " ",
                      g.error.message());
      if (g.packet.overlapped == &send_op) {
        CHECK(g.packet.key == kSender);
        CHECK(g.packet.bytes == datagram.size());
        got_send = true;
      } else {
        REQUIRE(g.packet.overlapped == &recv_op);
        CHECK(g.packet.key == kReceiver);
        CHECK(std::string(buffer.data(), g.packet.bytes) == datagram);
        got_recv = true;
      }
    }
    CHECK(got_send);
    CHECK(got_recv);
    // The sender's address was written into the lent RecvFrom when the datagram arrived.
    CHECK(from.from.port() == evq::iocp::address_of(sender.get()).port());
    CHECK(from.from.storage.ss_family == family);
  }
}

TEST_CASE("datagrams keep their boundaries: two sends are two receives") {
  evq::WsaSession session;
  CompletionPort port(1);
  evq::UniqueSocket receiver = evq::iocp::udp_loopback_socket();
  evq::UniqueSocket sender = evq::iocp::udp_loopback_socket();
  port.associate(receiver.get(), 1);
  port.associate(sender.get(), 2);
  const evq::iocp::Address to = evq::iocp::address_of(receiver.get());
  const std::string first = "first", second = "second, longer";
  OVERLAPPED send1{}, send2{};
  REQUIRE(evq::iocp::start_send_to(sender.get(), first, to, send1).state != Started::failed);
  REQUIRE(evq::iocp::start_send_to(sender.get(), second, to, send2).state != Started::failed);
  for (int i = 0; i < 2; ++i) REQUIRE(port.get(evq::test::kDeadline).status == GetStatus::completed);

  // A TCP read of 64 bytes could return both at once; a datagram receive returns one.
  for (const std::string& expected : {first, second}) {
    std::array<char, 64> buffer{};
    evq::iocp::RecvFrom from;
    OVERLAPPED op{};
    Started r = evq::iocp::start_recv_from(receiver.get(), buffer, from, op);
    REQUIRE_MESSAGE(r.state != Started::failed, r.error.message());
    DWORD bytes = completed_bytes(port, op, 1);  // a packet even when it completed at once
    CHECK(std::string(buffer.data(), bytes) == expected);
  }
}

TEST_CASE("WSARecvMsg, found through WSAIoctl, reports the destination address (IP_PKTINFO)") {
  evq::WsaSession session;
  for (int family : {AF_INET, AF_INET6}) {
    const std::string loopback = family == AF_INET ? "127.0.0.1" : "::1";
    INFO(loopback);
    CompletionPort port(1);
    evq::UniqueSocket receiver = evq::iocp::udp_loopback_socket(family);
    evq::UniqueSocket sender = evq::iocp::udp_loopback_socket(family);
    port.associate(receiver.get(), 1);
    port.associate(sender.get(), 2);
    evq::iocp::enable_packet_info(receiver.get());

    std::array<char, 64> buffer{};
    evq::iocp::RecvMsg msg;
    OVERLAPPED recv_op{};
    Started r = evq::iocp::start_recv_msg(receiver.get(), buffer, msg, recv_op);
    REQUIRE_MESSAGE(r.state == Started::pending, std::string(evq::iocp::to_string(r.state)), " ",
                    r.error.message());

    const std::string datagram = "with control data";
    evq::iocp::SendMsg send_state;
    OVERLAPPED send_op{};
    Started s = evq::iocp::start_send_msg(sender.get(), datagram, evq::iocp::address_of(receiver.get()),
                                          send_state, send_op);
    REQUIRE_MESSAGE(s.state != Started::failed, "WSASendMsg: ", s.error.message());

    bool got_recv = false;
    for (int i = 0; i < 2; ++i) {
      evq::iocp::GetResult g = port.get(evq::test::kDeadline);
      REQUIRE_MESSAGE(g.status == GetStatus::completed, std::string(evq::iocp::to_string(g.status)), " ",
                      g.error.message());
      if (g.packet.overlapped != &recv_op) continue;
      got_recv = true;
      CHECK(std::string(buffer.data(), g.packet.bytes) == datagram);
      CHECK(msg.from.port() == evq::iocp::address_of(sender.get()).port());
      std::optional<std::string> to = msg.destination();
      MESSAGE("host ", evq::iocp::test::host_name(), ": WSARecvMsg destination for ", loopback, ": ",
              to.value_or("(no PKTINFO control message)"));
      REQUIRE_MESSAGE(to.has_value(),
                      "IP_PKTINFO was enabled, so the control data must name the destination");
      CHECK(*to == loopback);
    }
    CHECK(got_recv);
  }
}

TEST_CASE("a datagram longer than the receive buffer is cut, and its packet says so") {
  evq::WsaSession session;
  CompletionPort port(1);
  evq::UniqueSocket receiver = evq::iocp::udp_loopback_socket();
  evq::UniqueSocket sender = evq::iocp::udp_loopback_socket();
  port.associate(receiver.get(), 1);
  port.associate(sender.get(), 2);
  std::array<char, 4> small{};
  evq::iocp::RecvFrom from;
  OVERLAPPED op{};
  REQUIRE(evq::iocp::start_recv_from(receiver.get(), small, from, op).state == Started::pending);
  OVERLAPPED send_op{};
  const std::string datagram = "longer than four bytes";
  REQUIRE(evq::iocp::start_send_to(sender.get(), datagram, evq::iocp::address_of(receiver.get()), send_op)
              .state != Started::failed);
  bool got_recv = false;
  for (int i = 0; i < 2; ++i) {
    evq::iocp::GetResult g = port.get(evq::test::kDeadline);
    if (g.packet.overlapped != &op) continue;
    got_recv = true;
    // The rest of the datagram is gone: UDP has no "read the remainder later".
    MESSAGE("host ", evq::iocp::test::host_name(),
            ": the cut datagram's packet: ", std::string(evq::iocp::to_string(g.status)), ", ",
            g.packet.bytes, " bytes, ", g.error.message());
    CHECK(g.status == GetStatus::failed);
    // GetQueuedCompletionStatus turns the kernel's STATUS_BUFFER_OVERFLOW into ERROR_MORE_DATA;
    // WSAGetOverlappedResult would call the same thing WSAEMSGSIZE.
    CHECK_MESSAGE((g.error == evq::win32_code(ERROR_MORE_DATA) || g.error == evq::win32_code(WSAEMSGSIZE)),
                  "got ", g.error.message());
    CHECK(g.packet.bytes == small.size());
    CHECK(std::string(small.data(), small.size()) == "long");
  }
  CHECK(got_recv);
}
