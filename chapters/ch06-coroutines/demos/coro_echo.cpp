// coro_echo: chapter 4's echo server written as coroutines (one per connection, one for the
// listener), on any backend.
//
//   coro_echo --backend all --clients 4 --messages 3     # its own loopback clients check the echoes
//   coro_echo --backend io_uring --serve --seconds 30    # serve; try: nc -N 127.0.0.1 <port>
//
// What you should see: for each backend, the server's loop thread starting, the clients' echoes
// checked, then stop(): the loop cancels the listener and every connection, each coroutine returns
// from its co_await with "aborted", and run() returns with the counts.
#include <fmt/core.h>

#include <string>
#include <thread>
#include <vector>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/serve.hpp"
#include "evq/completion/backends.hpp"
#include "evq/completion/loopback.hpp"
#include "evq/coro/echo_server.hpp"

using namespace evq::completion;

namespace {

evq::ServeSummary summary_of(const evq::coro::EchoServer::Stats& s) {
  return {s.accepted, s.closed, s.bytes_echoed, s.errors};
}

bool run_backend(const std::string& name, int clients, int messages, bool quiet) {
  evq::Narrator say(!quiet);
  say.title("coroutine echo server on {}", name);
  loopback::Listener listener = loopback::listen();
  std::unique_ptr<CompletionQueue> queue = open_queue(name);
  evq::coro::Loop loop(*queue);
  evq::coro::EchoServer server(loop, listener.socket.get());
  std::thread thread([&] { server.run(); });
  say.step("server thread: loop.spawn(accept_loop()); loop.run() on the {} backend, port {}", name,
           listener.port);
  say.aside("accept_loop: co_await loop.accept_one(listener), then spawn connection(socket) and go round");
  bool ok = true;
  for (int c = 0; c < clients; ++c) {
    OwnedSocket sock = loopback::connect(listener.port);
    for (int m = 0; m < messages; ++m) {
      std::string msg = fmt::format("client {} message {}", c, m);
      loopback::send_all(sock.get(), msg);
      if (loopback::recv_exact(sock.get(), msg.size()) != msg) ok = false;
    }
  }
  say.step("{} clients x {} messages: {}", clients, messages,
           ok ? "every echo matched" : "SOME ECHOES WERE WRONG");
  say.aside(
      "each connection(socket): co_await loop.read(s, buffer), then co_await loop.write(s, ...), in a loop");
  server.stop();
  thread.join();
  const auto& st = server.stats();
  say.step("stop(): the listener and the connections cancelled; run() returned: {}",
           evq::summary_line(summary_of(st)));
  if (st.accepted != static_cast<std::uint64_t>(clients)) ok = false;
  return ok;
}

int serve(const std::string& name, bool ipv6, long long seconds, bool quiet) {
  evq::Narrator say(!quiet);
  loopback::Listener listener = loopback::listen(512, ipv6);
  std::unique_ptr<CompletionQueue> queue = open_queue(name);
  evq::coro::Loop loop(*queue);
  evq::coro::EchoServer server(loop, listener.socket.get());
  say.step("the {} backend, one coroutine per connection", queue->backend());
  say.step("{}: stopping", evq::serve_on_thread(
                               ipv6, listener.port, seconds, [&] { server.run(); }, [&] { server.stop(); }));
  evq::print_summary(summary_of(server.stats()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("coro_echo", "Chapter 4's echo server as coroutines, on any backend.");
  cli.option("backend", "epoll | kqueue | io_uring (or uring) | iocp | all", "all");
  cli.option("clients", "loopback clients to run", "4");
  cli.option("messages", "messages each client sends and checks", "3");
  evq::add_serve_options(cli);
  cli.parse(argc, argv);
  if (cli.has("ipv6") && !cli.has("serve"))
    cli.fail("--ipv6 needs --serve: this demo's own clients connect to 127.0.0.1");
  loopback::init();
  const std::string backend = cli.get("backend");
  if (backend != "all")
    if (std::string why = why_not_usable(backend); !why.empty()) cli.fail(why);
  const int clients = static_cast<int>(cli.get_int("clients", 1, 1000));
  const int messages = static_cast<int>(cli.get_int("messages", 1, 100000));
  return cli.run([&] {
    if (cli.has("serve"))
      return serve(backend == "all" ? default_backend() : backend, cli.has("ipv6"),
                   cli.get_int("seconds", 1, 86400), cli.has("quiet"));
    bool ok = true;
    for (const BackendInfo& b : backends()) {
      if (backend != "all" && b.name != backend) continue;
      if (!b.usable) {
        fmt::print("(backend {} not run: {})\n", b.name, b.why_not);
        continue;
      }
      ok = run_backend(b.name, clients, messages, cli.has("quiet")) && ok;
    }
    return ok ? 0 : 1;
  });
}
