// An echo server on kqueue whose changes ride in the same kevent() call that waits.
// By default it runs its own loopback clients (and one that resets its connection), checks every
// echo, and exits 0; with --serve it prints its port and serves for --seconds.
#include <atomic>
#include <thread>
#include <vector>

#include "evq/common/cli.hpp"
#include "evq/common/joining_thread.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/net.hpp"
#include "evq/common/serve.hpp"
#include "evq/kq/echo_server.hpp"

namespace {

// One client: `messages` round trips, each echo compared with what was sent.
bool run_client(std::uint16_t port, evq::Family family, int id, long long messages) {
  evq::UniqueFd fd = evq::connect_loopback(port, family);
  for (long long m = 0; m < messages; ++m) {
    std::string text = fmt::format("client {} message {}\n", id, m);
    evq::write_all(fd.get(), text);
    if (evq::read_exact(fd.get(), text.size()) != text) return false;
  }
  return true;
}

// A peer that sends half a message and then resets the connection (RST, not FIN).
void run_resetting_client(std::uint16_t port, evq::Family family) {
  evq::UniqueFd fd = evq::connect_loopback(port, family);
  evq::write_all(fd.get(), "half a mess");
  evq::set_linger_reset(fd.get());
}

evq::ServeSummary summary_of(const evq::kq::EchoStats& s) {
  return {s.accepted, s.closed, s.bytes_echoed, s.resets};
}

// --serve: the server runs on its own thread until Ctrl-C, SIGTERM or the deadline; stop()
// triggers the EVFILT_USER event and run() returns.
int serve(evq::kq::EchoServer& server, evq::Narrator& say, bool ipv6, long long seconds) {
  say.step("{}: stopping", evq::serve_on_thread(
                               ipv6, server.port(), seconds, [&] { server.run(); }, [&] { server.stop(); }));
  evq::print_summary(summary_of(server.stats()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("kqueue_echo_server", "An echo server on kqueue, changes batched into the waiting kevent().");
  cli.option("clients", "loopback clients to run", "8");
  cli.option("messages", "round trips per client", "20");
  cli.option("resets", "extra clients that reset their connection", "1");
  cli.option("narrate", "kevent() calls to narrate in detail", "4");
  evq::add_serve_options(cli);
  cli.parse(argc, argv);
  const auto clients = cli.get_int("clients", 0, 1000);
  const auto messages = cli.get_int("messages", 1, 100'000);
  const auto resets = cli.get_int("resets", 0, 100);
  const auto narrate = cli.get_int("narrate", 0, 1000);
  const auto seconds = cli.get_int("seconds", 1, 24 * 3600);
  const bool ipv6 = cli.has("ipv6");

  evq::Narrator say(!cli.has("quiet"));
  say.title("kqueue echo server{}",
            evq::kq::kEmulated ? " (on the project's kqueue emulation for Linux)" : "");
  return cli.run([&] {
    evq::kq::EchoServer server(say.enabled() ? &say : nullptr, static_cast<int>(narrate),
                               ipv6 ? evq::Family::v6 : evq::Family::v4);
    if (cli.has("serve")) return serve(server, say, ipv6, seconds);
    const evq::Family family = ipv6 ? evq::Family::v6 : evq::Family::v4;
    std::thread loop([&server] { server.run(); });
    std::atomic<int> failures{0};
    {
      std::vector<evq::JoiningThread> threads;
      for (long long r = 0; r < resets; ++r)
        threads.emplace_back([&] { run_resetting_client(server.port(), family); });
      for (long long c = 0; c < clients; ++c)
        threads.emplace_back([&, c] {
          try {
            if (!run_client(server.port(), family, static_cast<int>(c), messages)) ++failures;
          } catch (const std::exception& e) {
            fmt::print(stderr, "client {}: {}\n", c, e.what());
            ++failures;
          }
        });
    }  // the threads join here
    server.stop();
    loop.join();
    const auto& s = server.stats();
    say.step("stop: kevent(NOTE_TRIGGER on the EVFILT_USER stop event) from the main thread");
    say.aside("{} connections accepted, {} closed ({} by reset), {} bytes echoed", s.accepted, s.closed,
              s.resets, s.bytes_echoed);
    say.aside("{} kevent() calls carried {} changes along with their waits; {} EV_ERROR answers",
              s.kevent_calls, s.changes_batched, s.change_errors);
    evq::print_summary(summary_of(s));
    if (failures > 0) {
      fmt::print(stderr, "kqueue_echo_server: {} client(s) got a wrong echo\n", failures.load());
      return 1;
    }
    if (s.accepted != static_cast<std::size_t>(clients + resets)) {
      fmt::print(stderr, "kqueue_echo_server: accepted {} connections, expected {}\n", s.accepted,
                 clients + resets);
      return 1;
    }
    say.aside("every echo matched");
    return 0;
  });
}
