// multishot_echo: an echo server straight on io_uring, where the kernel lends *you* the buffer
// (a provided buffer ring, multishot accept and receive; include/evq/completion/uring_multishot_echo.hpp).
//
//   multishot_echo --clients 4 --messages 3     # its own loopback clients check the echoes
//   multishot_echo --serve --seconds 30         # serve; try: nc -N 127.0.0.1 <port>
//
// What you should see: the buffers each echo came from are the ring's, not the connection's, and
// the summary line counts every connection accepted and closed. Where the kernel refuses io_uring
// (switched off, or a container's seccomp filter) it says so and exits with status 77.
#include <fmt/core.h>

#include <exception>
#include <string>
#include <thread>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/serve.hpp"
#include "evq/completion/loopback.hpp"
#include "evq/completion/uring_multishot_echo.hpp"

using namespace evq::completion;

namespace {

evq::ServeSummary summary_of(const UringMultishotEcho::Stats& s) {
  return {s.accepted, s.closed, s.bytes_echoed, s.errors};
}

int run_clients(int clients, int messages, bool quiet) {
  evq::Narrator say(!quiet);
  say.title("an echo server on io_uring: the kernel lends us its buffers");
  loopback::Listener listener = loopback::listen();
  UringMultishotEcho server(listener.socket.get());
  say.step(
      "io_uring_queue_init + io_uring_register_buf_ring: 1024 buffers of 4096 bytes, given to the kernel once");
  say.step("io_uring_prep_multishot_accept(listener {}): one request, one completion per connection",
           loopback::socket_number(listener.socket.get()));
  std::exception_ptr failure;
  std::thread loop([&] {
    try {
      server.run();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  say.step("server thread: each turn, one io_uring_submit_and_wait_timeout submits and reaps everything");
  bool ok = true;
  try {
    for (int c = 0; c < clients; ++c) {
      OwnedSocket sock = loopback::connect(listener.port);
      for (int m = 0; m < messages; ++m) {
        std::string msg = fmt::format("client {} message {}", c, m);
        loopback::send_all(sock.get(), msg);
        std::string echo = loopback::recv_exact(sock.get(), msg.size());
        if (echo != msg) {
          fmt::print("    ECHO MISMATCH: sent '{}', got '{}'\n", msg, echo);
          ok = false;
        } else if (c == 0 && m == 0) {
          say.step("client 0: send('{}') and recv -> '{}'", msg, echo);
          say.aside(
              "server side: the multishot receive completed with a buffer id the kernel chose; the "
              "send went out of that buffer, and its completion gave the buffer back to the ring");
        }
      }
    }
  } catch (const std::exception& e) {
    fmt::print("client failed: {}\n", e.what());
    ok = false;
  }
  server.stop();
  loop.join();
  if (failure) std::rethrow_exception(failure);
  say.step("{} clients x {} messages: {}", clients, messages,
           ok ? "every echo matched" : "SOME ECHOES WERE WRONG");
  evq::print_summary(summary_of(server.stats()));
  if (server.stats().accepted != static_cast<std::uint64_t>(clients)) {
    fmt::print("    expected {} accepted connections, the server saw {}\n", clients, server.stats().accepted);
    ok = false;
  }
  return ok ? 0 : 1;
}

int serve(bool ipv6, long long seconds, bool quiet) {
  evq::Narrator say(!quiet);
  loopback::Listener listener = loopback::listen(512, ipv6);
  UringMultishotEcho server(listener.socket.get());
  say.step("multishot accept and receive over a ring of 1024 provided buffers");
  say.step("{}: stopping", evq::serve_on_thread(
                               ipv6, listener.port, seconds, [&] { server.run(); }, [&] { server.stop(); }));
  evq::print_summary(summary_of(server.stats()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("multishot_echo",
               "An echo server straight on io_uring: multishot accept and receive into buffers the kernel "
               "picks from a ring we gave it.");
  cli.option("clients", "loopback clients to run", "4");
  cli.option("messages", "messages each client sends and checks", "3");
  evq::add_serve_options(cli);
  cli.epilog("Needs Linux 6.0 or later; on an older kernel it says so and exits 1.");
  cli.parse(argc, argv);
  if (cli.has("ipv6") && !cli.has("serve"))
    cli.fail("--ipv6 needs --serve: this demo's own clients connect to 127.0.0.1");
  if (std::string why = UringMultishotEcho::unavailable_reason(); !why.empty()) {
    fmt::print(stderr, "multishot_echo: cannot run here: {}\n", why);
    return 77;  // "this machine cannot run me": ctest and tools/lab's tour count it as skipped
  }
  int clients = static_cast<int>(cli.get_int("clients", 1, 1000));
  int messages = static_cast<int>(cli.get_int("messages", 1, 100000));
  try {
    if (cli.has("serve")) return serve(cli.has("ipv6"), cli.get_int("seconds", 1, 86400), cli.has("quiet"));
    return run_clients(clients, messages, cli.has("quiet"));
  } catch (const std::exception& e) {
    fmt::print(stderr, "multishot_echo: {}\n", e.what());
    return 1;
  }
}
