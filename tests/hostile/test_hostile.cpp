// The hostile-client suite: what real clients and a full machine do to a server, case by case.
//
// Every case starts the server afresh as its own process (`--serve`, as a reader runs it), attacks it
// over loopback, and ends the same way: a newcomer is still served, and the server's descriptors are
// back to the count it started with. Figures are measured from /proc, never from the server's word;
// no case asserts how long the server takes, only what it does and what it costs.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <doctest/doctest.h>
#include <fmt/core.h>

#include <atomic>
#include <regex>
#include <thread>
#include <vector>

#include "clients.hpp"
#include "evq/common/net.hpp"
#include "figures.hpp"
#include "server_process.hpp"

using namespace std::chrono_literals;
using namespace evq;
using namespace evq::hostile;

namespace {

constexpr std::size_t kMiB = 1024 * 1024;

// One attack on one freshly started server. The constructor notes the server's idle figures; finish()
// checks that the server survived: a newcomer is served, every descriptor the attack cost is back.
class Attack {
 public:
  explicit Attack(std::string name, ServerProcess::Options options = {})
      : name_(std::move(name)), server_(spec(), std::move(options)) {
    fds_before_ = server_.fd_count();
    rss_before_ = server_.rss_bytes();
  }
  ServerProcess& server() { return server_; }
  Figures& figures() { return figures_; }
  std::optional<std::size_t> rss_before() const { return rss_before_; }

  void finish() {
    INFO("the server's output so far:\n" << server_.output());
    std::string why = newcomer_is_served(server_);
    CHECK_MESSAGE(why.empty(), "after the attack the server should still serve a new client: " << why);
    figures_.fds_before = fds_before_;
    if (fds_before_) {
      figures_.fds_after = wait_for_fd_count(server_, *fds_before_);
      CHECK_MESSAGE(figures_.fds_after == fds_before_,
                    "every descriptor the attack cost should be closed again: the server had "
                        << *fds_before_ << " open before, and " << figures_.fds_after.value_or(-1)
                        << " ten seconds after the last client left");
    }
    figures_.peak_rss = server_.peak_rss_bytes();
    record(spec(), name_, figures_);
  }

 private:
  std::string name_;
  ServerProcess server_;
  std::optional<int> fds_before_;
  std::optional<std::size_t> rss_before_;
  Figures figures_;
};

// Says once, in the output, which figures this platform cannot give (never a silent pass).
void note_unmeasured(const ServerProcess& server) {
  if (!server.fd_count())
    MESSAGE(spec().name << ": no /proc figures for this server (its process could not be found), "
                           "so descriptor, memory and CPU checks are not made here");
}

}  // namespace

TEST_CASE("a normal echo, then a clean close") {
  Attack a("normal echo");
  note_unmeasured(a.server());
  UniqueFd fd = connect_to(a.server());
  std::string why = echo_round_trip(fd.get(), "hello, echo server\n");
  CHECK_MESSAGE(why.empty(), "the first message should come back unchanged: " << why);
  fd.reset();
  a.finish();
}

TEST_CASE("an echo over IPv6 loopback (::1)") {
  Attack a("IPv6 echo", {.extra_args = {"--ipv6"}});
  CHECK_MESSAGE(a.server().family() == Family::v6, "with --ipv6 the server should listen on ::1; it said:\n"
                                                       << a.server().output());
  UniqueFd fd = connect_to(a.server());
  std::string why = echo_round_trip(fd.get(), "hello over ::1\n");
  CHECK_MESSAGE(why.empty(), "the echo over ::1 should come back unchanged: " << why);
  fd.reset();
  a.finish();
}

TEST_CASE("1000 concurrent connections x 100 messages") {
  constexpr int kClients = 1000, kMessages = 100;
  unsigned long limit = raise_open_file_limit(kClients + 200);
  REQUIRE_MESSAGE(limit >= kClients + 64,
                  "this test needs " << kClients + 64 << " descriptors; the hard limit allows " << limit);
  Attack a("1000 connections x 100 messages", {.nofile = kClients + 200});
  std::vector<UniqueFd> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(connect_to(a.server()));
  int failures = 0;
  std::string first_failure;
  for (int m = 0; m < kMessages && failures == 0; ++m) {
    // Every client sends, then every client reads: all 1000 are in flight at once.
    std::vector<std::string> sent(kClients);
    for (int i = 0; i < kClients; ++i) {
      sent[i] = fmt::format("client {:4} message {:3}\n", i, m);
      write_all(clients[i].get(), sent[i]);
    }
    for (int i = 0; i < kClients; ++i) {
      std::string back = read_exact(clients[i].get(), sent[i].size());
      if (back != sent[i] && failures++ == 0)
        first_failure = fmt::format("client {} message {}: sent '{}', got '{}'", i, m, sent[i], back);
    }
  }
  CHECK_MESSAGE(failures == 0, "every one of " << kClients * kMessages << " echoes should match; " << failures
                                               << " did not, the first: " << first_failure);
  a.figures().note = fmt::format("{} echoes", kClients * kMessages);
  clients.clear();
  a.finish();
}

TEST_CASE("a 1 MB message, read back slowly") {
  Attack a("1 MB read slowly");
  UniqueFd fd = connect_to(a.server());
  const std::string message = garbage(kMiB);
  std::atomic<bool> sent{false};
  std::string send_error;
  std::thread writer([&] {
    try {
      write_all(fd.get(), message);
      shutdown_write(fd.get());  // all sent: the server echoes the rest, then closes
      sent = true;
    } catch (const std::exception& e) {
      send_error = e.what();
    }
  });
  std::string back;
  char chunk[4096];
  for (;;) {  // 4 KiB at a time with a pause: the server must wait for us, not give up or buffer all
    ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
    if (n <= 0) break;
    back.append(chunk, static_cast<std::size_t>(n));
    std::this_thread::sleep_for(1ms);
  }
  writer.join();
  CHECK_MESSAGE(send_error.empty(), "sending the megabyte should not fail: " << send_error);
  CHECK_MESSAGE(back.size() == message.size(), "all " << message.size()
                                                      << " bytes should come back, then end of stream; "
                                                      << back.size() << " came");
  CHECK_MESSAGE((back == message), "the echoed megabyte should equal the one sent");
  fd.reset();
  a.finish();
}

TEST_CASE("a half-close: every byte echoed, then end of stream") {
  Attack a("half-close");
  UniqueFd fd = connect_to(a.server());
  const std::string message = garbage(100'000);
  write_all(fd.get(), message);
  shutdown_write(fd.get());
  std::string back = read_exact(fd.get(), message.size() + 1);  // +1: only end of stream may end it
  CHECK_MESSAGE(back.size() == message.size(), "after our FIN the server should echo all "
                                                   << message.size() << " bytes and then close; we read "
                                                   << back.size());
  CHECK_MESSAGE((back == message), "the echo after a half-close should equal what was sent");
  fd.reset();
  a.finish();
}

TEST_CASE("a reset (SO_LINGER 0) in the middle of a transfer") {
  Attack a("reset mid-transfer");
  {
    UniqueFd fd = connect_to(a.server());
    set_nonblocking(fd.get());
    std::string chunk = garbage(64 * 1024);
    std::size_t sent = 0;
    while (sent < 512 * 1024) {  // never read: the echo backs up, then we vanish with an RST
      ssize_t n = ::send(fd.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    set_linger_reset(fd.get());
    a.figures().note = fmt::format("{} KiB sent before the reset", sent / 1024);
  }
  a.finish();
}

TEST_CASE("a peer that connects and sends nothing") {
  Attack a("silent peer");
  UniqueFd silent = connect_to(a.server());
  std::string why = newcomer_is_served(a.server());
  CHECK_MESSAGE(why.empty(), "while a peer sits silent, others should still be served: " << why);
  silent.reset();
  a.finish();
}

TEST_CASE("a peer that sends and never reads: memory stays bounded") {
  Attack a("never reads");
  UniqueFd flood = connect_to(a.server());
  set_nonblocking(flood.get());
  std::string chunk = garbage(256 * 1024);
  std::size_t sent = 0;
  constexpr std::size_t kMost = 64 * kMiB;
  // Send until the server stops taking bytes (no room for a whole second) or 64 MiB went out.
  while (sent < kMost) {
    ssize_t n = ::send(flood.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;
    pollfd p{flood.get(), POLLOUT, 0};
    if (::poll(&p, 1, 1000) == 0) break;  // it stopped reading: that is backpressure
  }
  std::string why = newcomer_is_served(a.server());
  CHECK_MESSAGE(why.empty(), "while one peer floods, others should still be served: " << why);
  auto rss = a.server().rss_bytes();
  if (rss && a.rss_before()) {
    const std::size_t cap = spec().cap_bytes, margin = 16 * kMiB;
    const std::size_t grew = *rss > *a.rss_before() ? *rss - *a.rss_before() : 0;
    a.figures().note = fmt::format("sent {} MiB unread; RSS grew {:.1f} MiB (cap {} KiB + margin {} MiB)",
                                   sent / kMiB, static_cast<double>(grew) / kMiB, cap / 1024, margin / kMiB);
    CHECK_MESSAGE(grew <= cap + margin, "a peer that never reads should cost at most the per-connection cap ("
                                            << cap / 1024 << " KiB) plus a " << margin / kMiB
                                            << " MiB margin; the server's RSS grew by " << grew / kMiB
                                            << " MiB while we sent " << sent / kMiB
                                            << " MiB that nobody read");
  }
  flood.reset();
  a.finish();
}

TEST_CASE("garbage bytes come back byte for byte") {
  Attack a("garbage bytes");
  UniqueFd fd = connect_to(a.server());
  std::string why = echo_round_trip(fd.get(), garbage(64 * 1024));
  CHECK_MESSAGE(why.empty(), "an echo server should echo any bytes, NULs and all: " << why);
  fd.reset();
  a.finish();
}

TEST_CASE("RLIMIT_NOFILE 32 and 100 clients: no spin, the others served, recovery") {
  constexpr int kClients = 100;
  Attack a("RLIMIT_NOFILE=32, 100 clients", {.nofile = 32});
  std::vector<UniqueFd> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(connect_to(a.server()));  // the backlog holds them
  // Everyone says hello; those the server could accept answer.
  for (auto& c : clients) write_all(c.get(), std::string_view("hello\n"));
  int served = 0;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  std::vector<bool> answered(kClients, false);
  while (served < kClients && std::chrono::steady_clock::now() < deadline) {
    std::vector<pollfd> fds;
    for (int i = 0; i < kClients; ++i)
      if (!answered[i]) fds.push_back({clients[i].get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 200) <= 0) {
      if (served > 0) break;  // the ones it could take have answered
      continue;
    }
    for (auto& p : fds) {
      if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      for (int i = 0; i < kClients; ++i) {
        if (clients[i].get() != p.fd) continue;
        answered[i] = true;  // an echo, or a close: either way this one has had its answer
        try {
          if (read_exact(p.fd, 6) == "hello\n") ++served;
        } catch (const std::exception&) {
          // reset by the server: not served
        }
      }
    }
  }
  // The server is now out of descriptors with connections still waiting: measure what that costs.
  auto cpu0 = a.server().cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2s);  // the measuring window, not a wait for anything
  auto cpu1 = a.server().cpu_seconds();
  double window = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO("the server's output:\n" << a.server().output());
  if (spec().wine) {
    // Under Wine a Windows program's sockets live in the wineserver, so this process's limit does not
    // run it out of sockets: the out-of-sockets path is not reached here. Assert what Wine does.
    MESSAGE(spec().name
            << ": under Wine, RLIMIT_NOFILE=32 limits Wine's own process, not the wineserver that "
               "holds the Windows program's sockets; "
            << served << " of " << kClients
            << " were served, so accept never ran out: the Windows servers' out-of-sockets path is not "
               "exercised on this machine");
    CHECK_MESSAGE(served == kClients,
                  "under Wine every client should be served despite the limit; " << served << " were");
  }
  CHECK_MESSAGE(served >= 10, "a server out of descriptors should keep serving the connections it has: "
                                  << served << " of " << kClients << " clients got their echo");
  if (cpu0 && cpu1) {
    double share = (*cpu1 - *cpu0) / window;
    a.figures().cpu_share = share;
    CHECK_MESSAGE(share < 0.20, "while accept() fails with EMFILE the server should wait, not spin: it used "
                                    << share * 100 << "% of a core over " << window << " s (at most 20%)");
  }
  a.figures().note = fmt::format("{} of {} served while full", served, kClients);
  clients.clear();  // everyone leaves: descriptors free up, and the server must accept again
  a.finish();
}

namespace {
// Started the way a script starts a server in the background (`server &`), which ignores SIGINT:
// a server that relies on the default action would never stop on Ctrl-C's signal then.
void stops_cleanly_on(int sig, const char* name) {
  Attack a(fmt::format("{}: clean stop", name), {.as_background_job = true});
  {
    UniqueFd fd = connect_to(a.server());
    std::string why = echo_round_trip(fd.get(), "one message before the signal\n");
    CHECK_MESSAGE(why.empty(), "the echo before the signal should work: " << why);
  }
  a.finish();  // the newcomer makes a second connection
  a.server().send_signal(sig);
  auto status = a.server().wait_exit(20s);
  INFO("the server's output:\n" << a.server().output());
  REQUIRE_MESSAGE(status.has_value(),
                  "after " << name << " the server should exit; it still runs 20 s later");
  if (spec().wine && sig == SIGTERM) {
    // Windows has no SIGTERM. Wine ends a Windows program on SIGTERM without telling it (no console
    // event reaches its handler), so the program cannot print a summary. Assert exactly that.
    MESSAGE(
        spec().name << ": under Wine, SIGTERM ends the Windows program at once (exit 143, no summary); "
                       "on Windows the stop signals are Ctrl-C and Ctrl-Break, tested by the SIGINT case");
    CHECK_MESSAGE(*status == 128 + SIGTERM,
                  "Wine should end the program with SIGTERM; it exited " << *status);
    return;
  }
  CHECK_MESSAGE(*status == 0, "after " << name << " the server should exit 0; it exited " << *status);
  std::smatch m;
  std::string out = a.server().output();
  bool summary = std::regex_search(
      out, m, std::regex(R"(summary: accepted (\d+), closed (\d+), bytes (\d+), errors (\d+))"));
  CHECK_MESSAGE(summary, "after " << name
                                  << " the server should print its one-line summary "
                                     "(summary: accepted N, closed N, bytes N, errors N)");
  if (summary) {
    CHECK_MESSAGE(m[1] == "2", "the summary should count both connections as accepted: " << m[0]);
    CHECK_MESSAGE(m[2] == "2", "the summary should count both connections as closed: " << m[0]);
  }
}
}  // namespace

TEST_CASE("SIGINT: exit 0 with the summary line") {
  stops_cleanly_on(SIGINT, "SIGINT");
}
TEST_CASE("SIGTERM: exit 0 with the summary line") {
  stops_cleanly_on(SIGTERM, "SIGTERM");
}
