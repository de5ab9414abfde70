// An echo server on a completion port and its thread pool: sockets associated with the port under
// a completion key, I/O completing into it as packets, 2 x CPUs threads taking them (the IOCP
// server shape). The demo runs its own loopback clients, some of which reset the connection, and
// checks every echo. With --serve it serves your own clients until Ctrl-C or SIGTERM.
#include <atomic>
#include <memory>
#include <stdexcept>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/serve.hpp"
#include "evq/completion/loopback.hpp"
#include "evq/port/echo_server.hpp"
#include "evq/port/peer.hpp"

using namespace std::chrono_literals;

namespace loopback = evq::completion::loopback;
namespace peer = evq::port::peer;

namespace {

// One client: `messages` round trips, each checked byte for byte. Returns an error text or "".
std::string run_client(std::uint16_t port, int id, int messages) {
  try {
    peer::OwnedSocket sock = loopback::connect(port);
    for (int m = 0; m < messages; ++m) {
      std::string text = fmt::format("client {} message {}: {}", id, m,
                                     std::string(static_cast<std::size_t>(m % 7) * 100, 'x'));
      loopback::send_all(sock.get(), text);
      if (loopback::recv_exact(sock.get(), text.size()) != text)
        return fmt::format("client {}: echo of message {} differs", id, m);
    }
    peer::half_close(sock.get());  // the server reads end of stream and closes its side
    if (!loopback::recv_exact(sock.get(), 1).empty())
      return fmt::format("client {}: data after the echo", id);
    return "";
  } catch (const std::exception& e) {
    return fmt::format("client {}: {}", id, e.what());
  }
}

// A peer that sends something and resets the connection instead of closing it.
void run_resetting_peer(std::uint16_t port) {
  peer::OwnedSocket sock = loopback::connect(port);
  loopback::send_all(sock.get(), "half a message, then RST");
  peer::reset_on_close(sock.get());
}

evq::ServeSummary summary_of(const evq::port::EchoServer::Stats& s) {
  return {s.accepted, s.closed, s.bytes_echoed, s.reset};
}

}  // namespace

int main(int argc, char** argv) {
#ifdef SIGPIPE
  std::signal(SIGPIPE, SIG_IGN);  // a write to a reset peer must fail, not kill the program
#endif
  evq::Cli cli("echo_pool", "An echo server on a completion port and a thread pool, with loopback clients.");
  cli.option("clients", "loopback clients to run", "8");
  cli.option("messages", "round trips per client", "20");
  cli.option("resets", "extra clients that reset the connection", "4");
  cli.option("backend", "the ch04 completion backend under the port (empty: default)", "");
  evq::add_serve_options(cli);
  cli.epilog(
      "Try: build/dev/bin/ch05/echo_pool --clients 50 --messages 100\n"
      "     build/dev/bin/ch05/echo_pool --serve   (then: nc -N 127.0.0.1 <port>)");
  cli.parse(argc, argv);
  return cli.run([&]() -> int {
    const int clients = static_cast<int>(cli.get_int("clients", 0, 1000));
    const int messages = static_cast<int>(cli.get_int("messages", 1, 100000));
    const int resets = static_cast<int>(cli.get_int("resets", 0, 1000));
    const auto seconds = cli.get_int("seconds", 1, 86400);
    if (cli.has("ipv6") && !cli.has("serve"))
      cli.fail("--ipv6 needs --serve: this demo's own clients connect to 127.0.0.1");
    const bool ipv6 = cli.has("ipv6");
    evq::Narrator say(!cli.has("quiet"));
    say.title("echo_pool: an echo server on a completion port and its thread pool");

    loopback::Listener listener;
    try {
      listener = loopback::listen(512, ipv6);
    } catch (const std::invalid_argument& e) {
      cli.fail(e.what());  // --ipv6 where this build cannot listen on ::1
    }
    std::uint16_t port = listener.port;
    say.step("socket + bind({}:0) + listen -> port {}", ipv6 ? "[::1]" : "127.0.0.1", port);
    std::unique_ptr<evq::port::EchoServer> owned;
    try {
      owned = std::make_unique<evq::port::EchoServer>(std::move(listener.socket), 0, 0, cli.get("backend"));
    } catch (const std::invalid_argument& e) {
      cli.fail(e.what());  // an unknown or unusable --backend: say which exist, exit 2
    }
    evq::port::EchoServer& server = *owned;
    say.step("Port(concurrency {}) + PortIo over ch04's {} queue + ThreadPool of {} threads",
             server.port().concurrency(), server.backend(), server.pool_size());
    say.aside("the listener is associated with key 0; each connection gets its id as its key");

    if (cli.has("serve")) {  // the pool serves; this thread only waits for Ctrl-C, SIGTERM or time
      evq::StopSignal stop_signal;
      evq::print_serving(ipv6, port, seconds);
      say.step("{}: stopping", stop_signal.wait(std::chrono::seconds(seconds)));
      server.stop();
      evq::print_summary(summary_of(server.stats()));
      return 0;
    }

    say.step("{} clients x {} round trips, and {} peers that reset", clients, messages, resets);
    std::vector<std::string> errors(static_cast<std::size_t>(clients));
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i)
      threads.emplace_back([&, i] { errors[static_cast<std::size_t>(i)] = run_client(port, i, messages); });
    for (int i = 0; i < resets; ++i) threads.emplace_back([&] { run_resetting_peer(port); });
    for (auto& t : threads) t.join();
    // One last client: accepts are taken in order, so once its echo is back every earlier connection
    // has been accepted (or dropped by the stack, reset before anyone accepted it).
    errors.push_back(run_client(port, clients, 1));

    int failures = 0;
    for (const std::string& e : errors)
      if (!e.empty()) {
        fmt::print(stderr, "echo_pool: {}\n", e);
        ++failures;
      }
    // The server closes each connection when it reads end of stream or an error: wait for it.
    auto deadline = std::chrono::steady_clock::now() + 5s;
    auto settled = [&] {
      auto st = server.stats();
      return server.open_connections() == 0 && st.closed == st.accepted;
    };
    while (!settled() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    auto stats = server.stats();
    say.step("every echo checked: {} of {} clients fine (the last one closes the run)",
             clients + 1 - failures, clients + 1);
    server.stop();
    evq::print_summary(summary_of(stats));
    say.step("stop(): port closed, pool joined, pending I/O cancelled and collected");
    // A peer that resets before the server accepted it may never reach the server (the stack can
    // drop it from the backlog): the resetting peers count as "at most".
    if (failures > 0 || stats.accepted < static_cast<std::uint64_t>(clients + 1) ||
        stats.accepted > static_cast<std::uint64_t>(clients + 1 + resets) || stats.closed != stats.accepted) {
      fmt::print(stderr, "echo_pool: FAILED ({} client failures; {} accepted, {} closed)\n", failures,
                 stats.accepted, stats.closed);
      return 1;
    }
    return 0;
  });
}
