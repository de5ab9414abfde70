// Named pipes through a completion port: ConnectNamedPipe (and the DeviceIoControl it stands for),
// ReadFile/WriteFile on both ends, TransactNamedPipe in message mode.
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <utility>

#include "evq/iocp/completion_port.hpp"
#include "evq/iocp/overlapped_io.hpp"
#include "evq/iocp/pipe_io.hpp"
#include "evq/test/support.hpp"
#include "host.hpp"

using evq::iocp::CompletionPort;
using evq::iocp::GetStatus;
using evq::iocp::PipeConnect;
using evq::iocp::Started;

namespace {

constexpr ULONG_PTR kServer = 1, kClient = 2;

evq::iocp::GetResult next_packet(CompletionPort& port) {
  evq::iocp::GetResult r = port.get(evq::test::kDeadline);
  REQUIRE_MESSAGE(r.has_packet(), std::string(evq::iocp::to_string(r.status)), " ", r.error.message());
  return r;
}

// A server instance and its client, both associated with `port` (keys kServer and kClient), the
// server's ConnectNamedPipe packet already taken.
std::pair<evq::UniqueHandle, evq::UniqueHandle> connected_pipe(CompletionPort& port) {
  const std::wstring name = evq::iocp::unique_pipe_name();
  evq::UniqueHandle server = evq::iocp::create_pipe_server(name);
  port.associate(server.get(), kServer);
  OVERLAPPED connect_op{};
  REQUIRE(evq::iocp::start_connect_named_pipe(server.get(), connect_op).state == PipeConnect::pending);
  evq::UniqueHandle client = evq::iocp::open_pipe_client(name);
  port.associate(client.get(), kClient);
  REQUIRE(next_packet(port).packet.overlapped == &connect_op);
  return {std::move(server), std::move(client)};
}

}  // namespace

TEST_CASE("ConnectNamedPipe completes through the port when the client opens the pipe") {
  CompletionPort port(1);
  const std::wstring name = evq::iocp::unique_pipe_name();
  evq::UniqueHandle server = evq::iocp::create_pipe_server(name);
  port.associate(server.get(), kServer);
  OVERLAPPED connect_op{};
  PipeConnect c = evq::iocp::start_connect_named_pipe(server.get(), connect_op);
  REQUIRE_MESSAGE(c.state == PipeConnect::pending, std::string(evq::iocp::to_string(c.state)), " ",
                  c.error.message());
  CHECK(port.get(std::chrono::milliseconds(0)).status == GetStatus::timed_out);  // nobody yet

  evq::UniqueHandle client = evq::iocp::open_pipe_client(name);
  evq::iocp::GetResult r = next_packet(port);
  CHECK(r.status == GetStatus::completed);
  CHECK(r.packet.overlapped == &connect_op);
  CHECK(r.packet.key == kServer);
}

TEST_CASE("a client that connects before ConnectNamedPipe: ERROR_PIPE_CONNECTED, and no packet") {
  CompletionPort port(1);
  const std::wstring name = evq::iocp::unique_pipe_name();
  evq::UniqueHandle server = evq::iocp::create_pipe_server(name);
  port.associate(server.get(), kServer);
  evq::UniqueHandle client = evq::iocp::open_pipe_client(name);
  OVERLAPPED connect_op{};
  PipeConnect c = evq::iocp::start_connect_named_pipe(server.get(), connect_op);
  CHECK_MESSAGE(c.state == PipeConnect::already_connected, std::string(evq::iocp::to_string(c.state)), " ",
                c.error.message());
  // A server that waited for a packet here would wait for ever: none is queued.
  CHECK(port.get(std::chrono::milliseconds(100)).status == GetStatus::timed_out);
}

TEST_CASE("the same wait spelled DeviceIoControl(FSCTL_PIPE_LISTEN) completes through the port") {
  CompletionPort port(1);
  const std::wstring name = evq::iocp::unique_pipe_name();
  evq::UniqueHandle server = evq::iocp::create_pipe_server(name);
  port.associate(server.get(), kServer);
  OVERLAPPED listen_op{};
  PipeConnect c = evq::iocp::start_pipe_listen_ioctl(server.get(), listen_op);
  MESSAGE("host ", evq::iocp::test::host_name(), ": DeviceIoControl(FSCTL_PIPE_LISTEN) -> ",
          std::string(evq::iocp::to_string(c.state)), (c.error ? " " + c.error.message() : ""));
  REQUIRE_MESSAGE(c.state == PipeConnect::pending, std::string(evq::iocp::to_string(c.state)), " ",
                  c.error.message());
  evq::UniqueHandle client = evq::iocp::open_pipe_client(name);
  evq::iocp::GetResult r = next_packet(port);
  CHECK(r.status == GetStatus::completed);
  CHECK(r.packet.overlapped == &listen_op);
}

TEST_CASE("ReadFile and WriteFile on a pipe's two ends complete through one port, a message each") {
  CompletionPort port(1);
  auto [server, client] = connected_pipe(port);

  // The server reads first (pending: nothing written yet), then the client writes two messages.
  std::array<char, 64> buffer{};
  OVERLAPPED read_op{};
  Started r = evq::iocp::start_read_file(server.get(), buffer, 0, read_op);
  REQUIRE_MESSAGE(r.state == Started::pending, std::string(evq::iocp::to_string(r.state)), " ",
                  r.error.message());
  const std::string first = "message one", second = "message two";
  OVERLAPPED write1{}, write2{};
  REQUIRE(evq::iocp::start_write_file(client.get(), first, 0, write1).state != Started::failed);
  REQUIRE(evq::iocp::start_write_file(client.get(), second, 0, write2).state != Started::failed);

  int writes = 0;
  std::string got;
  for (int i = 0; i < 3; ++i) {
    evq::iocp::GetResult g = next_packet(port);
    CHECK(g.status == GetStatus::completed);
    if (g.packet.overlapped == &read_op) {
      CHECK(g.packet.key == kServer);
      got.assign(buffer.data(), g.packet.bytes);
    } else {
      CHECK(g.packet.key == kClient);
      ++writes;
    }
  }
  CHECK(writes == 2);
  CHECK_MESSAGE(got == first, "message mode: one read returns one message, not both");

  OVERLAPPED read2{};
  REQUIRE(evq::iocp::start_read_file(server.get(), buffer, 0, read2).state != Started::failed);
  evq::iocp::GetResult g = next_packet(port);
  CHECK(g.packet.overlapped == &read2);
  CHECK(std::string(buffer.data(), g.packet.bytes) == second);
}

TEST_CASE("TransactNamedPipe writes a request and completes with the reply") {
  CompletionPort port(1);
  auto [server, client] = connected_pipe(port);

  // The client's transaction: the request goes out now, the packet waits for the reply.
  const std::string request = "what time is it?";
  std::array<char, 64> reply{};
  OVERLAPPED transact_op{};
  Started t = evq::iocp::start_transact(client.get(), request, reply, transact_op);
  MESSAGE("host ", evq::iocp::test::host_name(), ": TransactNamedPipe -> ",
          std::string(evq::iocp::to_string(t.state)), (t.error ? " " + t.error.message() : ""));
  REQUIRE_MESSAGE(t.state == Started::pending, std::string(evq::iocp::to_string(t.state)), " ",
                  t.error.message());

  // The server reads the request and answers it.
  std::array<char, 64> buffer{};
  OVERLAPPED read_op{};
  REQUIRE(evq::iocp::start_read_file(server.get(), buffer, 0, read_op).state != Started::failed);
  evq::iocp::GetResult g = next_packet(port);
  REQUIRE(g.packet.overlapped == &read_op);
  CHECK(std::string(buffer.data(), g.packet.bytes) == request);
  const std::string answer = "time to test";
  OVERLAPPED write_op{};
  REQUIRE(evq::iocp::start_write_file(server.get(), answer, 0, write_op).state != Started::failed);

  bool got_reply = false;
  for (int i = 0; i < 2; ++i) {
    evq::iocp::GetResult p = next_packet(port);
    if (p.packet.overlapped != &transact_op) continue;
    got_reply = true;
    CHECK(p.status == GetStatus::completed);
    CHECK(p.packet.key == kClient);
    CHECK(std::string(reply.data(), p.packet.bytes) == answer);
  }
  CHECK(got_reply);
}
