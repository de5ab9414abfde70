// coro_echo: the echo server written as coroutines (one per connection, one for the listener), on
// any backend, run two ways: by a one-thread Loop (chapter 4's shape) and by the Pool (chapter 5's
// port and its threads).
//
//   coro_echo --backend all --clients 4 --messages 3     # both runtimes; its own clients check echoes
//   coro_echo --runtime pool --backend io_uring --serve --seconds 30   # serve; try: nc -N 127.0.0.1 <port>
//
// What you should see: for each backend and runtime, the server starting, the clients' echoes
// checked, then stop(): the listener and every connection cancelled, each coroutine returning from
// its co_await with "aborted", and run() returning with the counts.
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
#include "evq/coro/pool_echo_server.hpp"

using namespace evq::completion;

namespace {

template <typename Stats>  // either server's counters
evq::ServeSummary summary_of(const Stats& s) {
  return {s.accepted, s.closed, s.bytes_echoed, s.errors};
}

// The demo's own clients: `clients` connections, each checking `messages` echoes.
bool run_clients(std::uint16_t port, int clients, int messages) {
  bool ok = true;
  for (int c = 0; c < clients; ++c) {
    OwnedSocket sock = loopback::connect(port);
    for (int m = 0; m < messages; ++m) {
      std::string msg = fmt::format("client {} message {}", c, m);
      loopback::send_all(sock.get(), msg);
      if (loopback::recv_exact(sock.get(), msg.size()) != msg) ok = false;
    }
  }
  return ok;
}

bool run_loop(const std::string& name, int clients, int messages, bool quiet) {
  evq::Narrator say(!quiet);
  say.title("coroutine echo server on {}, one thread (Loop)", name);
  loopback::Listener listener = loopback::listen();
  std::unique_ptr<CompletionQueue> queue = open_queue(name);
  evq::coro::Loop loop(*queue);
  evq::coro::EchoServer server(loop, listener.socket.get());
  std::thread thread([&] { server.run(); });
  say.step("server thread: loop.spawn(accept_loop()); loop.run() on the {} backend, port {}", name,
           listener.port);
  say.aside("accept_loop: co_await loop.accept_one(listener), then spawn connection(socket) and go round");
  bool ok = run_clients(listener.port, clients, messages);
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

bool run_pool(const std::string& name, int clients, int messages, bool quiet) {
  evq::Narrator say(!quiet);
  say.title("coroutine echo server on {}, chapter 5's pool (Pool)", name);
  loopback::Listener listener = loopback::listen();  // declared first: it outlives the pool
  evq::coro::Pool pool(evq::coro::Pool::Options{0, 0, name});
  evq::coro::PoolEchoServer server(pool, listener.socket.get());
  std::thread thread([&] { server.run(); });
  say.step("pool.spawn(accept_loop()); {} threads under a port of concurrency {}, port {}", pool.threads(),
           pool.concurrency(), listener.port);
  say.aside("every completion is a packet: the thread the port releases resumes the coroutine");
  bool ok = run_clients(listener.port, clients, messages);
  say.step("{} clients x {} messages: {}", clients, messages,
           ok ? "every echo matched" : "SOME ECHOES WERE WRONG");
  server.stop();
  thread.join();
  const auto st = server.stats();
  say.step("stop(): one CancelScope cancelled; every coroutine ended; run() returned: {}",
           evq::summary_line(summary_of(st)));
  if (st.accepted != static_cast<std::uint64_t>(clients)) ok = false;
  return ok;
}

int serve(const std::string& runtime, const std::string& name, bool ipv6, long long seconds, bool quiet) {
  evq::Narrator say(!quiet);
  loopback::Listener listener = loopback::listen(512, ipv6);
  if (runtime == "pool") {
    evq::coro::Pool pool(evq::coro::Pool::Options{0, 0, name});
    evq::coro::PoolEchoServer server(pool, listener.socket.get());
    say.step("the {} backend under chapter 5's port: {} threads, one coroutine per connection",
             pool.backend(), pool.threads());
    say.step("{}: stopping",
             evq::serve_on_thread(
                 ipv6, listener.port, seconds, [&] { server.run(); }, [&] { server.stop(); }));
    evq::print_summary(summary_of(server.stats()));
    return 0;
  }
  std::unique_ptr<CompletionQueue> queue = open_queue(name);
  evq::coro::Loop loop(*queue);
  evq::coro::EchoServer server(loop, listener.socket.get());
  say.step("the {} backend, one thread, one coroutine per connection", queue->backend());
  say.step("{}: stopping", evq::serve_on_thread(
                               ipv6, listener.port, seconds, [&] { server.run(); }, [&] { server.stop(); }));
  evq::print_summary(summary_of(server.stats()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("coro_echo",
               "The echo server as coroutines, on any backend, on one thread or on chapter 5's pool.");
  cli.option("backend", "epoll | kqueue | io_uring (or uring) | iocp | all", "all");
  cli.option("runtime", "loop (one thread) | pool (chapter 5's port) | both (not with --serve)", "both");
  cli.option("clients", "loopback clients to run", "4");
  cli.option("messages", "messages each client sends and checks", "3");
  evq::add_serve_options(cli);
  cli.parse(argc, argv);
  if (cli.has("ipv6") && !cli.has("serve"))
    cli.fail("--ipv6 needs --serve: this demo's own clients connect to 127.0.0.1");
  loopback::init();
  const std::string backend = cli.get("backend");
  const std::string runtime = cli.get("runtime");
  if (runtime != "loop" && runtime != "pool" && runtime != "both")
    cli.fail("--runtime must be loop, pool or both, not '" + runtime + "'");
  if (runtime == "both" && cli.has("serve"))
    cli.fail("--serve needs one runtime: --runtime loop or --runtime pool");
  if (backend != "all")
    if (std::string why = why_not_usable(backend); !why.empty()) cli.fail(why);
  const int clients = static_cast<int>(cli.get_int("clients", 1, 1000));
  const int messages = static_cast<int>(cli.get_int("messages", 1, 100000));
  return cli.run([&] {
    if (cli.has("serve"))
      return serve(runtime, backend == "all" ? default_backend() : backend, cli.has("ipv6"),
                   cli.get_int("seconds", 1, 86400), cli.has("quiet"));
    bool ok = true;
    for (const BackendInfo& b : backends()) {
      if (backend != "all" && b.name != backend) continue;
      if (!b.usable) {
        fmt::print("(backend {} not run: {})\n", b.name, b.why_not);
        continue;
      }
      if (runtime != "pool") ok = run_loop(b.name, clients, messages, cli.has("quiet")) && ok;
      if (runtime != "loop") ok = run_pool(b.name, clients, messages, cli.has("quiet")) && ok;
    }
    return ok ? 0 : 1;
  });
}
