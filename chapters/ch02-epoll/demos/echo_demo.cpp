#include "echo_demo.hpp"

#include <signal.h>

#include <ctime>
#include <thread>

#include "evq/common/error.hpp"
#include "evq/common/net.hpp"
#include "evq/epoll/echo_client.hpp"

namespace evq::epoll::demo {

void add_echo_options(Cli& cli) {
  cli.option("clients", "loopback clients to run at once", "8")
      .option("messages", "messages each client sends and checks", "50")
      .option("size", "bytes per message (1..65536)", "64")
      .flag("serve", "print the port and serve your own clients instead (nc 127.0.0.1 PORT)")
      .option("seconds", "with --serve: how long to serve (Ctrl-C stops sooner)", "30")
      .flag("quiet", "no narration: only the summary");
}

namespace {

// --serve: waits for Ctrl-C/SIGTERM or the deadline on a thread of its own, then stops the
// server. The signals are blocked in every thread (set before any thread starts), so only
// sigtimedwait sees them.
int serve(DemoServer& server, Narrator& n, long long seconds) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  if (int err = pthread_sigmask(SIG_BLOCK, &signals, nullptr)) throw_errno("pthread_sigmask", err);
  fmt::print("serving on 127.0.0.1 port {} for {} s (Ctrl-C stops): try  nc 127.0.0.1 {}\n",
             server.port(), seconds, server.port());
  std::fflush(stdout);
  std::jthread stopper([&] {
    timespec limit{static_cast<time_t>(seconds), 0};
    int sig = sigtimedwait(&signals, nullptr, &limit);
    fmt::print("\n{}: stopping\n", sig > 0 ? "signal" : "time is up");
    server.stop();
  });
  server.run();
  stopper.join();
  EchoStats s = server.stats();
  n.step("served {} connection(s), echoed {} bytes in {} epoll_wait wake-ups", s.accepted,
         s.bytes_echoed, s.wakeups);
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

  UniqueFd listener = listen_loopback();
  std::uint16_t port = local_port(listener.get());
  n.step("socket + bind(127.0.0.1:0) + listen -> fd {}, the kernel chose port {}", listener.get(), port);
  std::unique_ptr<DemoServer> server = make(std::move(listener), n.enabled() ? &n : nullptr);
  if (cli.has("serve")) return serve(*server, n, seconds);

  load.port = port;
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
  fmt::print("server: accepted {}, closed {}, echoed {} bytes, {} epoll_wait wake-ups, {} waits for EPOLLOUT\n",
             s.accepted, s.closed, s.bytes_echoed, s.wakeups, s.write_waits);
  for (const std::string& e : result.errors) fmt::print(stderr, "error: {}\n", e);
  bool ok = result.ok() && result.clients_ok == load.clients;
  fmt::print("{}\n", ok ? "OK: every echo matched" : "FAILED: see the errors above");
  return ok ? 0 : 1;
}

}  // namespace evq::epoll::demo
