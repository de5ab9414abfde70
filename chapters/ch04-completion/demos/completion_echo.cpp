// completion_echo: one echo server, written once against CompletionQueue, run on any backend.
//
//   completion_echo --backend epoll --clients 4 --messages 3     # its own loopback clients check the echoes
//   completion_echo --backend all                                # every backend this machine has, in turn
//   completion_echo --backend io_uring --serve --seconds 30      # serve; try: nc -N 127.0.0.1 <port>
#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/serve.hpp"
#include "evq/completion/backends.hpp"
#include "evq/completion/echo_server.hpp"
#include "evq/completion/loopback.hpp"

using namespace evq::completion;

namespace {

// What each backend does underneath the same five calls, for the narration.
const char* underneath(std::string_view backend) {
  if (backend == "epoll")
    return "epoll_create1 + an eventfd for post(); each socket is registered once, edge-triggered; "
           "a read tries recv() first and waits for EPOLLIN only on EAGAIN";
  if (backend == "kqueue")
    return "kqueue() + EVFILT_USER for post(); EVFILT_READ/EVFILT_WRITE with EV_CLEAR per socket; "
           "a read tries recv() first and waits for the filter only on EAGAIN";
  if (backend == "io_uring")
    return "io_uring_queue_init: a submission and a completion ring shared with the kernel; a read is "
           "an IORING_OP_RECV carrying our buffer, its CQE is the completion";
  if (backend == "iocp")
    return "CreateIoCompletionPort; a read is WSARecv with our buffer and an OVERLAPPED, the packet "
           "GetQueuedCompletionStatusEx returns is the completion";
  return "";
}

evq::ServeSummary summary_of(const EchoServer::Stats& s) {
  return {s.accepted, s.closed, s.bytes_echoed, s.errors};
}

bool run_clients(evq::Narrator& say, std::uint16_t port, int clients, int messages) {
  bool all_ok = true;
  for (int c = 0; c < clients; ++c) {
    OwnedSocket sock = loopback::connect(port);
    if (c == 0)
      say.step("client 0: connect(127.0.0.1:{}) -> socket {}", port, loopback::socket_number(sock.get()));
    for (int m = 0; m < messages; ++m) {
      std::string msg = fmt::format("client {} message {}", c, m);
      loopback::send_all(sock.get(), msg);
      std::string echo = loopback::recv_exact(sock.get(), msg.size());
      if (echo != msg) {
        fmt::print("    ECHO MISMATCH: sent '{}', got '{}'\n", msg, echo);
        all_ok = false;
      } else if (c == 0 && m == 0) {
        say.step("client 0: send('{}') and recv -> '{}'", msg, echo);
        say.aside(
            "server side: the read completed with {} bytes in the connection's buffer; the server lent "
            "the same buffer to a write; that write's completion lent it to the next read",
            msg.size());
      }
    }
  }
  say.step("{} clients x {} messages: {}", clients, messages,
           all_ok ? "every echo matched" : "SOME ECHOES WERE WRONG");
  return all_ok;
}

bool run_backend(const std::string& name, int clients, int messages, bool quiet) {
  evq::Narrator say(!quiet);
  say.title("completion echo server on {}", name);
  loopback::Listener listener = loopback::listen();
  say.step("socket + bind(127.0.0.1:0) + listen -> socket {}, port {}",
           loopback::socket_number(listener.socket.get()), listener.port);
  std::unique_ptr<CompletionQueue> queue = open_queue(name);
  say.step("open_queue(\"{}\") -> backend {}", name, queue->backend());
  say.aside("{}", underneath(queue->backend()));
  EchoServer server(*queue, listener.socket.get());
  say.step("attach(listener) and accept(listener, user_data 0): one accept is always pending");
  std::exception_ptr failure;
  std::thread loop([&] {
    try {
      server.run();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  say.step("server thread: wait() for completions, handle each, lend again");
  bool ok = false;
  try {
    ok = run_clients(say, listener.port, clients, messages);
  } catch (const std::exception& e) {
    fmt::print("client failed: {}\n", e.what());
  }
  server.stop();
  loop.join();
  if (failure) std::rethrow_exception(failure);
  const auto& stats = server.stats();
  say.step(
      "stop() -> post(stop); the server detached every connection and waited for their last completions");
  evq::print_summary(summary_of(stats));
  if (stats.accepted != static_cast<std::uint64_t>(clients)) {
    fmt::print("    expected {} accepted connections, the server saw {}\n", clients, stats.accepted);
    ok = false;
  }
  return ok;
}

// --serve: the server loop runs on its own thread until Ctrl-C, SIGTERM or the deadline; then
// stop() posts to the queue and the loop detaches everything and returns.
int serve(const std::string& name, bool ipv6, long long seconds, bool quiet) {
  evq::Narrator say(!quiet);
  loopback::Listener listener = loopback::listen(512, ipv6);
  std::unique_ptr<CompletionQueue> queue = open_queue(name);
  EchoServer server(*queue, listener.socket.get());
  server.narrate_to(say.enabled() ? &say : nullptr);
  say.step("the {} backend: {}", queue->backend(), underneath(queue->backend()));
  say.step("{}: stopping", evq::serve_on_thread(
                               ipv6, listener.port, seconds, [&] { server.run(); }, [&] { server.stop(); }));
  evq::print_summary(summary_of(server.stats()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("completion_echo",
               "An echo server written once against the completion interface, on any backend.");
  cli.option("backend", "epoll | kqueue | io_uring (or uring) | iocp | all", "all");
  cli.option("clients", "loopback clients to run", "4");
  cli.option("messages", "messages each client sends and checks", "3");
  evq::add_serve_options(cli);
  cli.epilog("Backends on this machine are listed by --backend all; one that cannot run says why.");
  cli.parse(argc, argv);
  if (cli.has("ipv6") && !cli.has("serve"))
    cli.fail("--ipv6 needs --serve: this demo's own clients connect to 127.0.0.1");
  loopback::init();
  std::string backend = cli.get("backend");
  if (backend != "all") {
    if (std::string why = why_not_usable(backend); !why.empty()) cli.fail(why);
  }
  int clients = static_cast<int>(cli.get_int("clients", 1, 1000));
  int messages = static_cast<int>(cli.get_int("messages", 1, 100000));
  try {
    if (cli.has("serve"))
      return serve(backend == "all" ? default_backend() : backend, cli.has("ipv6"),
                   cli.get_int("seconds", 1, 86400), cli.has("quiet"));
    std::vector<std::string> names;
    if (backend == "all") {
      for (const BackendInfo& b : backends()) {
        if (b.usable)
          names.push_back(b.name);
        else
          fmt::print("(backend {} not run: {})\n", b.name, b.why_not);
      }
    } else {
      names.push_back(backend);
    }
    bool ok = true;
    for (const std::string& name : names) ok = run_backend(name, clients, messages, cli.has("quiet")) && ok;
    return ok ? 0 : 1;
  } catch (const std::invalid_argument& e) {
    cli.fail(e.what());
  } catch (const std::exception& e) {
    fmt::print(stderr, "completion_echo: {}\n", e.what());
    return 1;
  }
}
