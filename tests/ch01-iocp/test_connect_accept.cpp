// ConnectEx and AcceptEx: both ends of a connection made through completion ports, as chapter 4's
// IOCP backend does it.
#include <doctest/doctest.h>

#include <array>
#include <chrono>

#include "evq/iocp/completion_port.hpp"
#include "evq/iocp/overlapped_io.hpp"
#include "evq/test/support.hpp"
#include "host.hpp"

using evq::iocp::CompletionPort;
using evq::iocp::GetStatus;
using evq::iocp::Started;

TEST_CASE("the Winsock extensions load through WSAIoctl") {
  evq::WsaSession session;
  const evq::iocp::SocketExtensions& ext = evq::iocp::socket_extensions();
  CHECK((ext.accept_ex != nullptr));
  CHECK((ext.connect_ex != nullptr));
  CHECK((ext.get_accept_ex_sockaddrs != nullptr));
}

TEST_CASE("ConnectEx and AcceptEx both complete through the port, and the connection carries data") {
  evq::WsaSession session;
  CompletionPort port(0);
  constexpr ULONG_PTR kListenerKey = 1, kClientKey = 2;
  evq::UniqueSocket listener = evq::listen_loopback_socket();
  port.associate(listener.get(), kListenerKey);

  evq::UniqueSocket accepted = evq::overlapped_tcp_socket();
  std::array<char, evq::iocp::kAcceptAddressBytes> addresses{};
  OVERLAPPED accept_op{};
  Started a = evq::iocp::start_accept(listener.get(), accepted.get(), addresses, accept_op);
  REQUIRE_MESSAGE(a.state != Started::failed, a.error.message());

  evq::UniqueSocket client = evq::overlapped_tcp_socket();
  port.associate(client.get(), kClientKey);
  OVERLAPPED connect_op{};
  Started c = evq::iocp::start_connect(client.get(), evq::socket_port(listener.get()), connect_op);
  REQUIRE_MESSAGE(c.state != Started::failed, c.error.message());

  bool got_accept = false, got_connect = false;
  for (int i = 0; i < 2; ++i) {
    evq::iocp::GetResult r = port.get(evq::test::kDeadline);
    REQUIRE_MESSAGE(r.status == GetStatus::completed, std::string(evq::iocp::to_string(r.status)), " ",
                    r.error.message());
    if (r.packet.overlapped == &accept_op) {
      CHECK(r.packet.key == kListenerKey);
      got_accept = true;
    } else {
      CHECK(r.packet.overlapped == &connect_op);
      CHECK(r.packet.key == kClientKey);
      got_connect = true;
    }
  }
  CHECK(got_accept);
  CHECK(got_connect);
  evq::iocp::finish_accept(listener.get(), accepted.get());
  evq::iocp::finish_connect(client.get());

  evq::set_receive_timeout(accepted.get(), 10'000);
  evq::send_all(client.get(), "through ConnectEx");
  CHECK(evq::recv_exact(accepted.get(), 17) == "through ConnectEx");
  // SO_UPDATE_ACCEPT_CONTEXT made getpeername work on the accepted socket.
  sockaddr_in peer{};
  int length = sizeof peer;
  CHECK(::getpeername(accepted.get(), reinterpret_cast<sockaddr*>(&peer), &length) == 0);
  CHECK(::ntohs(peer.sin_port) == evq::socket_port(client.get()));
}

TEST_CASE("ConnectEx to a port nobody listens on completes with a failure packet") {
  evq::WsaSession session;
  CompletionPort port(0);
  std::uint16_t closed_port;
  {
    evq::UniqueSocket gone = evq::listen_loopback_socket();
    closed_port = evq::socket_port(gone.get());
  }
  evq::UniqueSocket client = evq::overlapped_tcp_socket();
  port.associate(client.get(), 1);
  OVERLAPPED op{};
  Started c = evq::iocp::start_connect(client.get(), closed_port, op);
  if (c.state == Started::failed) {
    MESSAGE("host: ", evq::iocp::test::host_name(), ": ConnectEx failed at once: ", c.error.message());
    CHECK(c.error == evq::win32_code(WSAECONNREFUSED));
    return;
  }
  evq::iocp::GetResult r = port.get(evq::test::kDeadline);
  MESSAGE("host: ", evq::iocp::test::host_name(),
          ": ConnectEx to a closed port: ", std::string(evq::iocp::to_string(r.status)), ", ",
          r.error.message());
  REQUIRE(r.status == GetStatus::failed);
  CHECK(r.packet.overlapped == &op);
  // Windows reports ERROR_CONNECTION_REFUSED (1225) through the packet; WSAECONNREFUSED is its WinSock twin.
  CHECK(
      (r.error == evq::win32_code(ERROR_CONNECTION_REFUSED) || r.error == evq::win32_code(WSAECONNREFUSED)));
}
