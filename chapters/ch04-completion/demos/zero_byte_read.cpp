// zero_byte_read (Windows, under Wine on Linux): the opposite modelling, told on a real port.
//
// Post WSARecv with a buffer of 0 bytes. It lends no memory; its packet means "data has arrived",
// which is a readiness event made out of a completion. Only then pick a buffer and read with a
// non-blocking recv(). libuv reads TCP this way on Windows; this chapter's IocpQueue does not.
#include <fmt/core.h>

#include <chrono>
#include <span>
#include <string>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/win32.hpp"
#include "evq/iocp/completion_port.hpp"
#include "evq/iocp/overlapped_io.hpp"

int main(int argc, char** argv) {
  evq::Cli cli("zero_byte_read",
               "IOCP as readiness: a zero-byte WSARecv says 'readable', then recv() reads.");
  cli.flag("quiet", "do not narrate");
  cli.parse(argc, argv);
  evq::Narrator say(!cli.has("quiet"));
  return cli.run([&] {
    evq::WsaSession wsa;
    auto wine = evq::wine_version();
    say.title("IOCP as readiness with a zero-byte read{}",
              wine ? fmt::format(" (under Wine {})", *wine) : "");
    evq::SocketPair pair = evq::socket_pair();
    say.step("socket_pair over 127.0.0.1 -> client {}, server {}", pair.client.get(), pair.server.get());
    evq::iocp::CompletionPort port(1);
    port.associate(pair.server.get(), 7);
    say.step("CreateIoCompletionPort(server, port, key 7)");

    // [snippet zero-byte-read]
    OVERLAPPED overlapped{};
    evq::iocp::Started started = evq::iocp::start_recv(pair.server.get(), std::span<char>{}, overlapped);
    // [/snippet zero-byte-read]
    say.step("WSARecv(server, a 0-byte buffer, &overlapped) -> {}", evq::iocp::to_string(started.state));
    say.aside("no buffer is lent: the read can complete only by saying 'something is there'");
    if (started.state == evq::iocp::Started::failed) {
      fmt::print("WSARecv failed to start: {}\n", started.error.message());
      return 1;
    }

    evq::iocp::GetResult early = port.get(std::chrono::milliseconds(200));
    bool waited = early.status == evq::iocp::GetStatus::timed_out;
    if (waited) {
      say.step("GetQueuedCompletionStatus(200 ms) -> timed out: no data yet, so no packet");
    } else {
      say.step("GetQueuedCompletionStatus(200 ms) -> a packet of {} bytes BEFORE any data was sent",
               early.packet.bytes);
      say.aside("this host completes a zero-byte read at once{}; real Windows waits for data",
                wine ? " (Wine)" : "");
    }

    evq::send_all(pair.client.get(), "hello, readiness on IOCP");
    say.step("client: send(\"hello, readiness on IOCP\")");
    if (waited) {
      evq::iocp::GetResult ready = port.get(std::chrono::milliseconds(5000));
      if (!ready.has_packet()) {
        fmt::print("no packet within 5 s: {}\n", ready.error.message());
        return 1;
      }
      say.step("GetQueuedCompletionStatus -> key {}, {} bytes: the zero-byte read completed",
               ready.packet.key, ready.packet.bytes);
      say.aside("0 bytes here is not end of stream: it means 'readable' — a readiness event");
    }

    u_long on = 1;
    if (::ioctlsocket(pair.server.get(), FIONBIO, &on) != 0) evq::throw_wsa_error("ioctlsocket(FIONBIO)");
    say.step("ioctlsocket(server, FIONBIO, 1): reads from now on never block");
    char buffer[64];
    std::string got;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (got.size() < 24 && std::chrono::steady_clock::now() < until) {
      int n = ::recv(pair.server.get(), buffer, sizeof buffer, 0);
      if (n > 0)
        got.append(buffer, static_cast<std::size_t>(n));
      else if (n == 0 || ::WSAGetLastError() != WSAEWOULDBLOCK)
        break;
    }
    say.step("recv(server, a buffer chosen only now, 64) -> {} bytes \"{}\"", got.size(), got);
    say.aside("the buffer was needed only for the instant of this call: nothing was pinned while we waited");
    int again = ::recv(pair.server.get(), buffer, sizeof buffer, 0);
    int err = ::WSAGetLastError();
    if (again == SOCKET_ERROR && err == WSAEWOULDBLOCK)
      say.step("recv again -> WSAEWOULDBLOCK: drained; a loop would now post the next zero-byte read");
    return got == "hello, readiness on IOCP" ? 0 : 1;
  });
}
