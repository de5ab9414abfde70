#include "echo_demo.hpp"

#include <thread>

#include "evq/common/net.hpp"
#include "evq/common/serve.hpp"
#include "evq/epoll/echo_client.hpp"

namespace evq::epoll::demo {

void add_echo_options(Cli& cli) {
  cli.option("clients", "loopback clients to run at once", "8")
      .option("messages", "messages each client sends and checks", "50")
      .option("size", "bytes per message (1..65536)", "64");
  add_serve_options(cli);
}

namespace {

ServeSummary summary_of(const EchoStats& s) {
  return {s.accepted, s.closed, s.bytes_echoed, s.errors};
}

// --serve: the server runs on a thread of its own until Ctrl-C, SIGTERM or the deadline.
int serve(DemoServer& server, Narrator& n, bool ipv6, long long seconds) {
  std::string why = serve_on_thread(
      ipv6, server.port(), seconds, [&] { server.run(); }, [&] { server.stop(); });
  EchoStats s = server.stats();
  n.step("{}: stopped after {} connection(s), {} bytes echoed in {} epoll_wait wake-ups", why, s.accepted,
         s.bytes_echoed, s.wakeups);
  print_summary(summary_of(s));
  return 0;
}

}  // namespace

int run_echo_demo(const Cli& cli, const std::string& title,
                  const std::function<std::unique_ptr<DemoServer>(UniqueFd, Narrator*)>& make) {
  EchoLoad load;
  load.clients = static_cast<int>(cli.get_int("clients", 1, 1000));
  load.messages = static_cast<int>(cli.get_int("messages", 1, 1000000));
  load.message_size = static_cast<std::size_t>(cli.get_int("size", 1, 65536));
  long long seconds = cli.get_int("seconds", 1, 86400);
  Narrator n(!cli.has("quiet"));
  n.title("{}", title);

  const bool ipv6 = cli.has("ipv6");
  UniqueFd listener = listen_loopback(ipv6 ? Family::v6 : Family::v4);
  std::uint16_t port = local_port(listener.get());
  n.step("socket + bind({}:0) + listen -> fd {}, the kernel chose port {}", ipv6 ? "[::1]" : "127.0.0.1",
         listener.get(), port);
  std::unique_ptr<DemoServer> server = make(std::move(listener), n.enabled() ? &n : nullptr);
  if (cli.has("serve")) return serve(*server, n, ipv6, seconds);

  load.port = port;
  load.family = ipv6 ? Family::v6 : Family::v4;
  n.step("starting {} client thread(s): each connects, sends {} message(s) of {} bytes, checks every echo",
         load.clients, load.messages, load.message_size);
  n.aside("the server's own steps follow, from its thread");
  EchoLoadResult result;
  {
    std::jthread serving([&] { server->run(); });
    result = run_echo_clients(load);
    server->stop();
  }
  EchoStats s = server->stats();
  n.step("stop() wrote to the eventfd; the server thread left its loop and was joined");
  server->report(n);
  fmt::print("\nresult: {} of {} clients verified {} bytes of echoes in {:.3f} s\n", result.clients_ok,
             load.clients, result.bytes_verified, result.elapsed.count());
  fmt::print("server: {} epoll_wait wake-ups, {} waits for EPOLLOUT\n", s.wakeups, s.write_waits);
  print_summary(summary_of(s));
  for (const std::string& e : result.errors) fmt::print(stderr, "error: {}\n", e);
  bool ok = result.ok() && result.clients_ok == load.clients;
  fmt::print("{}\n", ok ? "OK: every echo matched" : "FAILED: see the errors above");
  return ok ? 0 : 1;
}

}  // namespace evq::epoll::demo
