// EchoServer: AcceptEx, WSARecv and WSASend on one port served by a pool of threads.
#include <doctest/doctest.h>

#include <string>

#include "evq/iocp/echo_client.hpp"
#include "evq/iocp/echo_server.hpp"
#include "evq/test/support.hpp"
#include "host.hpp"

using evq::iocp::EchoServer;

namespace {
std::string join(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}
}  // namespace

TEST_CASE("many clients get every message echoed back, then a clean close") {
  EchoServer server;
  constexpr int kClients = 16, kMessages = 20;
  constexpr std::size_t kSize = 100;
  evq::iocp::EchoClientReport report = evq::iocp::run_echo_clients(server.port(), kClients, kMessages, kSize);
  INFO(join(report.failures));
  CHECK(report.clients_ok == kClients);
  CHECK(report.bytes_verified == kClients * kMessages * kSize);
  // Every client half-closed; the server answers that by closing its side, counted as clean.
  CHECK(evq::test::wait_until([&] { return server.stats().closed_clean == kClients; }));
  evq::iocp::EchoStats stats = server.stats();
  CHECK(stats.accepted == kClients);
  CHECK(stats.closed_error == 0);
  CHECK(stats.bytes_echoed == kClients * kMessages * kSize);
  CHECK(server.open_connections() == 0);
  MESSAGE("host: ", evq::iocp::test::host_name(), "; ", server.threads(), " threads, concurrency ",
          server.concurrency());
}

TEST_CASE("the pool follows the rule of thumb: concurrency = CPUs, threads = 2 x CPUs") {
  EchoServer server;
  CHECK(server.concurrency() == evq::processor_count());
  CHECK(server.threads() == 2 * evq::processor_count());
}

TEST_CASE("a client that resets mid-stream is dropped and the others are still served") {
  evq::WsaSession session;
  EchoServer server;
  {
    evq::UniqueSocket rude = evq::connect_loopback_socket(server.port());
    evq::send_all(rude.get(), "half a mess");  // and never reads the echo
    REQUIRE(evq::test::wait_until([&] { return server.stats().accepted == 1; }));
    evq::set_linger_reset(rude.get());
  }  // closesocket with linger {1, 0}: RST instead of FIN
  bool dropped = evq::test::wait_until([&] { return server.open_connections() == 0; });
  CHECK_MESSAGE(dropped, "the server still holds the reset connection");
  evq::iocp::EchoStats after_reset = server.stats();
  MESSAGE("host: ", evq::iocp::test::host_name(),
          ": after the reset, closed_error = ", after_reset.closed_error,
          ", closed_clean = ", after_reset.closed_clean);
  if (evq::iocp::test::on_wine()) {
    // Measured on Wine 8: now and then the RST reaches the pending WSARecv as end of stream (0 bytes)
    // instead of an error (see the notes). Either way the connection must be gone, exactly once.
    CHECK(after_reset.closed_error + after_reset.closed_clean == 1);
  } else {
    CHECK_MESSAGE(after_reset.closed_error == 1, "a reset should fail the pending WSARecv or WSASend");
  }

  evq::iocp::EchoClientReport report = evq::iocp::run_echo_clients(server.port(), 8, 10);
  INFO(join(report.failures));
  CHECK(report.clients_ok == 8);
}

TEST_CASE("binary data larger than the server's buffer comes back byte for byte") {
  evq::WsaSession session;
  EchoServer server(evq::iocp::EchoServerOptions{.buffer_size = 1024});
  std::string data(256 * 1024, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7 + i / 256) & 0xFF);
  evq::UniqueSocket client = evq::connect_loopback_socket(server.port());
  evq::set_receive_timeout(client.get(), 10'000);
  // Send and receive at once: a client that first sends everything could fill both directions'
  // buffers and deadlock against an echo server that cannot read until it has written.
  std::thread writer([&] { evq::send_all(client.get(), data); });
  std::string echo = evq::recv_exact(client.get(), data.size());
  writer.join();
  CHECK(echo.size() == data.size());
  CHECK(echo == data);
}

TEST_CASE("a client that connects and leaves at once is closed cleanly") {
  evq::WsaSession session;
  EchoServer server;
  { evq::UniqueSocket quick = evq::connect_loopback_socket(server.port()); }
  CHECK(
      evq::test::wait_until([&] { return server.stats().accepted == 1 && server.open_connections() == 0; }));
  CHECK(server.stats().closed_clean == 1);
  evq::iocp::EchoClientReport report = evq::iocp::run_echo_clients(server.port(), 2, 3);
  CHECK(report.clients_ok == 2);
}

TEST_CASE("stop() with idle connections cancels and drains their operations, and the clients see the close") {
  evq::WsaSession session;
  EchoServer server;
  std::vector<evq::UniqueSocket> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(evq::connect_loopback_socket(server.port()));
  REQUIRE(evq::test::wait_until([&] { return server.stats().accepted == 3; }));
  server.stop();
  server.stop();  // idempotent
  for (auto& s : idle) {
    evq::set_receive_timeout(s.get(), 10'000);
    char byte = 0;
    int n = ::recv(s.get(), &byte, 1, 0);
    int err = n == SOCKET_ERROR ? ::WSAGetLastError() : 0;
    INFO("recv returned ", n, " error ", err);
    // End of stream (0) or a reset: both say "the server is gone"; a timeout would say it is not.
    CHECK((n == 0 || (n == SOCKET_ERROR && err != WSAETIMEDOUT)));
  }
}

TEST_CASE("one thread and concurrency 1 still serve many clients") {
  EchoServer server(evq::iocp::EchoServerOptions{.concurrency = 1, .threads = 1});
  CHECK(server.threads() == 1);
  evq::iocp::EchoClientReport report = evq::iocp::run_echo_clients(server.port(), 12, 15);
  INFO(join(report.failures));
  CHECK(report.clients_ok == 12);
}

TEST_CASE("a client that half-closes right after sending still gets every byte back, then end of stream") {
  evq::WsaSession session;
  EchoServer server;
  evq::UniqueSocket client = evq::connect_loopback_socket(server.port());
  evq::set_receive_timeout(client.get(), 10'000);
  std::string data(10'000, 'h');
  evq::send_all(client.get(), data);
  evq::shutdown_send(client.get());  // FIN right behind the data
  CHECK(evq::recv_exact(client.get(), data.size()) == data);
  CHECK(evq::recv_exact(client.get(), 1).empty());  // then the server closes too
  CHECK(evq::test::wait_until([&] { return server.stats().closed_clean == 1; }));
}

TEST_CASE("serving, resets and stop() leave no operation and no handle behind") {
  evq::WsaSession session;
  // Warm-up: WinSock and the extension lookup open a few handles once per process.
  {
    EchoServer warm;
    evq::iocp::run_echo_clients(warm.port(), 1, 1);
  }
  DWORD before = 0, after = 0;
  REQUIRE(::GetProcessHandleCount(::GetCurrentProcess(), &before));
  {
    EchoServer server;
    evq::iocp::run_echo_clients(server.port(), 10, 5);
    for (int i = 0; i < 3; ++i) {
      evq::UniqueSocket rude = evq::connect_loopback_socket(server.port());
      evq::send_all(rude.get(), "bye");
      evq::set_linger_reset(rude.get());
    }
    std::vector<evq::UniqueSocket> idle;
    for (int i = 0; i < 3; ++i) idle.push_back(evq::connect_loopback_socket(server.port()));
    REQUIRE(evq::test::wait_until([&] { return server.stats().accepted == 16; }));
    CHECK(server.operations_in_flight() > 0);  // the idle connections' WSARecv, the pending AcceptEx
    server.stop();
    // Every context was freed, and only after its packet was dequeued.
    CHECK(server.operations_in_flight() == 0);
  }
  bool back = evq::test::wait_until([&] {
    ::GetProcessHandleCount(::GetCurrentProcess(), &after);
    return after <= before;
  });
  if (evq::iocp::test::on_wine() && before == 0) {
    // Measured on Wine 8: GetProcessHandleCount succeeds but always reports 0, so it cannot show a leak.
    MESSAGE("host: ", evq::iocp::test::host_name(), ": GetProcessHandleCount reports ", before,
            " (not implemented); only the server's own accounting is checked here");
    CHECK(after == 0);
  } else {
    MESSAGE("host: ", evq::iocp::test::host_name(), ": handles before ", before, ", after ", after);
    CHECK_MESSAGE(back, "handles before: ", before, ", after: ", after);
  }
}
