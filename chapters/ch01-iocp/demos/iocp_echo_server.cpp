// iocp_echo_server: an echo server on AcceptEx, WSARecv and WSASend, served by a pool of threads on one
// completion port (concurrency = CPUs, threads = 2 x CPUs) and shut down by posting one packet per
// thread. By default it runs its own loopback clients and checks every echo; --serve keeps it up.
#include <fmt/core.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/serve.hpp"
#include "evq/common/win32.hpp"
#include "evq/iocp/echo_client.hpp"
#include "evq/iocp/echo_server.hpp"

namespace {

int run(const evq::Cli& cli) {
  evq::Narrator say(!cli.has("quiet"));
  // Check every argument before anything starts, so a bad one exits 2 with nothing half-built.
  const int clients = static_cast<int>(cli.get_int("clients", 1, 1000));
  const int messages = static_cast<int>(cli.get_int("messages", 1, 100000));
  const auto size = static_cast<std::size_t>(cli.get_int("size", 1, 1 << 20));
  const auto seconds = cli.get_int("seconds", 1, 24 * 3600);
  auto wine = evq::wine_version();
  say.title("IOCP echo server{}", wine ? " (under Wine " + *wine + ")" : "");

  // Installed before the pool's threads start, so Ctrl-C is ours from the first moment.
  std::optional<evq::StopSignal> stop_signal;
  if (cli.has("serve")) stop_signal.emplace();

  evq::iocp::EchoServerOptions options;
  options.concurrency = static_cast<DWORD>(cli.get_int("concurrency", 0, 1024));
  options.threads = static_cast<unsigned>(cli.get_int("threads", 0, 1024));
  options.narrator = &say;
  if (cli.has("ipv6") && !cli.has("serve"))
    cli.fail("--ipv6 needs --serve: this demo's own clients connect to 127.0.0.1");
  options.ipv6 = cli.has("ipv6");
  evq::iocp::EchoServer server(options);

  if (cli.has("serve")) {  // the pool serves; this thread waits for Ctrl-C, Ctrl-Break or the time
    evq::print_serving(options.ipv6, server.port(), seconds);
    say.step("{}: stopping", stop_signal->wait(std::chrono::seconds(seconds)));
  } else {
    evq::iocp::EchoClientReport report = evq::iocp::run_echo_clients(server.port(), clients, messages, size);
    say.step("{} clients x {} messages of {} bytes -> {} clients verified every echo ({} bytes)", clients,
             messages, size, report.clients_ok, report.bytes_verified);
    for (const auto& failure : report.failures) fmt::print(stderr, "  {}\n", failure);
    if (report.clients_ok != clients) {
      server.stop();
      return 1;
    }
  }
  server.stop();
  evq::iocp::EchoStats stats = server.stats();
  say.step("stats: {} closed cleanly, {} dropped on error", stats.closed_clean, stats.closed_error);
  evq::print_summary(
      {stats.accepted, stats.closed_clean + stats.closed_error, stats.bytes_echoed, stats.closed_error});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("iocp_echo_server",
               "An IOCP echo server: AcceptEx, WSARecv, WSASend and a pool of threads on one port.");
  cli.option("clients", "loopback clients to run", "4");
  cli.option("messages", "messages per client", "10");
  cli.option("size", "bytes per message", "64");
  cli.option("concurrency", "the port's concurrency value (0: CPUs)", "0");
  cli.option("threads", "threads in the pool (0: 2 x CPUs)", "0");
  evq::add_serve_options(cli);
  cli.epilog(
      "Try: tools/lab demo ch01, or tools/wine-run $PWD/build/windows-wine/wineprefix build/windows-wine/bin/ch01/iocp_echo_server.exe --clients 50 --messages 100");
  cli.parse(argc, argv);
  return cli.run([&] { return run(cli); });
}
