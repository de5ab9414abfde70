// iocp_basics: the five steps of a completion-based event queue (Samson, chapter 3: notes/references.md), told with IOCP.
//
//   1. create the queue            CreateIoCompletionPort
//   2. get a socket + a buffer     a loopback connection; a buffer we will lend out
//   3. lend the buffer to a read   associate the socket with the port, WSARecv(buffer, OVERLAPPED)
//   4. block until it completed    GetQueuedCompletionStatusEx
//   5. the buffer is filled        the data is already there: no read() after the wakeup
#include <fmt/core.h>

#include <array>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/win32.hpp"
#include "evq/iocp/completion_port.hpp"
#include "evq/iocp/overlapped_io.hpp"

namespace {

int run(const evq::Cli& cli) {
  evq::Narrator say(!cli.has("quiet"));
  const std::string message = cli.get("message");
  evq::WsaSession wsa;
  say.title("IOCP in five steps{}",
            evq::wine_version() ? " (running under Wine " + *evq::wine_version() + ")" : "");

  // [snippet basics-steps]
  // Step 1: the queue.
  evq::iocp::CompletionPort port(1);
  say.step("CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1) -> port {}", fmt::ptr(port.handle()));

  // Step 2: a socket to read from (the server end of a loopback connection) and a buffer.
  evq::SocketPair pair = evq::socket_pair();
  std::array<char, 256> buffer{};  // lent to the kernel in step 3, ours again after step 4
  say.step("socket + connect + accept on 127.0.0.1:0 -> server socket {}, buffer of {} bytes",
           pair.server.get(), buffer.size());

  // Step 3: associate the socket with the port, then start a read that names our buffer.
  constexpr ULONG_PTR kKey = 7;
  port.associate(pair.server.get(), kKey);
  say.step("CreateIoCompletionPort(socket, port, key {}, 0) -> associated", kKey);
  OVERLAPPED overlapped{};  // the operation's identity and status block: must outlive the operation
  evq::iocp::Started started = evq::iocp::start_recv(pair.server.get(), buffer, overlapped);
  say.step("WSARecv(socket, buffer, OVERLAPPED {}) -> {}", fmt::ptr(&overlapped),
           evq::iocp::to_string(started.state));
  if (started.state == evq::iocp::Started::failed) throw std::system_error(started.error, "WSARecv");
  say.aside("the buffer belongs to the kernel now: we must not touch it, nor free it");

  // Something to read: the client end sends.
  evq::send_all(pair.client.get(), message);
  say.step("send(client, \"{}\") -> {} bytes on their way", message, message.size());

  // Step 4: block until an operation has completed.
  std::array<OVERLAPPED_ENTRY, 4> entries{};
  evq::iocp::GetManyResult got = port.get_many(entries, std::chrono::seconds(10));
  if (got.status != evq::iocp::GetStatus::completed)
    throw std::runtime_error(
        fmt::format("GetQueuedCompletionStatusEx: {}", evq::iocp::to_string(got.status)));
  const OVERLAPPED_ENTRY& entry = entries[0];
  say.step("GetQueuedCompletionStatusEx(port, 4 entries, 10 s) -> {} entry: key {}, {} bytes, OVERLAPPED {}",
           got.count, entry.lpCompletionKey, entry.dwNumberOfBytesTransferred, fmt::ptr(entry.lpOverlapped));

  // Step 5: the data is in our buffer already; the OVERLAPPED tells us which operation it was.
  std::string_view received(buffer.data(), entry.dwNumberOfBytesTransferred);
  say.step("buffer now holds \"{}\" (OVERLAPPED is ours: {})", received,
           entry.lpOverlapped == &overlapped ? "yes" : "NO");
  // [/snippet basics-steps]
  say.aside("readiness (epoll, kqueue) says 'you may read now'; completion says 'it has been read'");

  if (entry.lpOverlapped != &overlapped || entry.lpCompletionKey != kKey || received != message) {
    fmt::print(stderr, "iocp_basics: expected \"{}\" under key {}, got \"{}\"\n", message, kKey, received);
    return 1;
  }
  if (!say.enabled()) fmt::print("{}\n", received);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("iocp_basics",
               "The five steps of a completion port: create, lend a buffer, wait, find it filled.");
  cli.option("message", "what the client sends", "hello, completion port");
  cli.flag("quiet", "print only the received text");
  cli.epilog(
      "Try: tools/wine-run $PWD/build/windows-wine/wineprefix build/windows-wine/bin/ch01/iocp_basics.exe --message hi");
  cli.parse(argc, argv);
  return cli.run([&] { return run(cli); });
}
