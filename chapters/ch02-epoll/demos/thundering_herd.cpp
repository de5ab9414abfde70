// Many threads, each with its own epoll instance, all watching ONE listening socket. When a
// connection arrives, who wakes up? Without EPOLLEXCLUSIVE: every waiter. With it: one (or a few).
//
// Measured two ways per connection: the epoll_wait calls that returned (of which most found the
// connection already taken: EAGAIN), and the waiting threads' voluntary context switches, which
// also count the wake-ups the kernel absorbed (a woken waiter that finds nothing left to report
// goes back to sleep without returning to us).
#include <sys/resource.h>

#include <atomic>
#include <thread>
#include <vector>

#include "evq/common/cli.hpp"
#include "evq/common/error.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/net.hpp"
#include "evq/epoll/nonblocking.hpp"
#include "evq/epoll/poll.hpp"
#include "evq/epoll/wakeup.hpp"

using namespace evq;
using namespace evq::epoll;
using namespace std::chrono_literals;

namespace {

long voluntary_switches_of_this_thread() {
  rusage usage{};
  check(::getrusage(RUSAGE_THREAD, &usage), "getrusage(RUSAGE_THREAD)");
  return usage.ru_nvcsw;
}

struct Tally {
  std::atomic<long> returns{0}, empty_handed{0}, accepted{0}, switches{0};
};

constexpr Token kListener = 1, kStop = 2;

// [snippet herd-waiter]
void waiter(int listen_fd, std::uint32_t interest, const Wakeup& stop, Tally& tally) {
  Poll poll;  // one epoll instance per thread: this is the case EPOLLEXCLUSIVE is for
  poll.registry().add(listen_fd, kListener, interest);
  poll.registry().add(stop.fd(), kStop, EPOLLIN);
  long switches_before = voluntary_switches_of_this_thread();
  Events events(4);
  for (bool running = true; running;) {
    poll.wait(events, std::nullopt);
    for (Event e : events) {
      if (e.token == kStop) running = false;
      if (e.token != kListener) continue;
      tally.returns++;
      AcceptResult a = try_accept(listen_fd);  // only one waiter can win the connection
      if (a.status == AcceptResult::Status::accepted)
        tally.accepted++;
      else
        tally.empty_handed++;
    }
  }
  tally.switches += voluntary_switches_of_this_thread() - switches_before;
}
// [/snippet herd-waiter]

struct Outcome {
  Tally tally;
  bool all_accepted = false;
};

void run(Outcome& out, Narrator& n, bool exclusive, int threads, int connections) {
  UniqueFd listener = listen_loopback(Family::v4, 128, /*nonblocking=*/true);
  std::uint32_t interest = EPOLLIN | (exclusive ? EPOLLEXCLUSIVE : 0u);
  n.step("{} threads: each epoll_create1 + epoll_ctl(ADD, listener fd {}, {})", threads, listener.get(),
         describe(interest));
  Wakeup stop;
  {
    std::vector<std::jthread> waiters;
    for (int i = 0; i < threads; ++i)
      waiters.emplace_back([&] { waiter(listener.get(), interest, stop, out.tally); });
    std::this_thread::sleep_for(50ms);  // a demo, not a test: let every waiter reach epoll_wait
    n.step("connect() {} times, one at a time, each after the last was accepted", connections);
    out.all_accepted = true;
    for (int c = 0; c < connections && out.all_accepted; ++c) {
      UniqueFd client = connect_loopback(local_port(listener.get()));
      auto deadline = std::chrono::steady_clock::now() + 5s;
      while (out.tally.accepted.load() <= c && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
      out.all_accepted = out.tally.accepted.load() > c;
      std::this_thread::sleep_for(5ms);  // let the losers go back to sleep before the next one
    }
    stop.notify();
  }
  const Tally& t = out.tally;
  n.step("wake-ups returned to us: {} ({:.2f} per connection), {} of them found nothing to accept",
         t.returns.load(), double(t.returns) / connections, t.empty_handed.load());
  n.step("voluntary context switches of the waiters: {} ({:.2f} per connection)", t.switches.load(),
         double(t.switches) / connections);
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli("thundering_herd",
          "Counts wake-ups when many threads wait for one listening socket, "
          "with and without EPOLLEXCLUSIVE.");
  cli.option("threads", "waiting threads, each with its own epoll instance", "4");
  cli.option("connections", "connections to make, one at a time", "20");
  cli.option("mode", "plain, exclusive or both", "both");
  cli.epilog(
      "The counts depend on the machine (CPUs, scheduler); the direction should not.\n"
      "See notes/ch02-epoll.md, 'The thundering herd and EPOLLEXCLUSIVE'.");
  cli.parse(argc, argv);
  return cli.run([&] {
    int threads = static_cast<int>(cli.get_int("threads", 2, 64));
    int connections = static_cast<int>(cli.get_int("connections", 1, 10000));
    const std::string& mode = cli.get("mode");
    if (mode != "plain" && mode != "exclusive" && mode != "both")
      cli.fail("--mode must be plain, exclusive or both, not '" + mode + "'");

    Narrator n;
    n.title("thundering_herd: {} threads, {} connections", threads, connections);
    Outcome plain, exclusive;
    bool ok = true;
    if (mode != "exclusive") {
      n.title("without EPOLLEXCLUSIVE");
      run(plain, n, false, threads, connections);
      ok &= plain.all_accepted;
    }
    if (mode != "plain") {
      n.title("with EPOLLEXCLUSIVE");
      run(exclusive, n, true, threads, connections);
      ok &= exclusive.all_accepted;
    }
    fmt::print("\n{:<12} {:>12} {:>14} {:>14}\n", "mode", "accepted", "returns/conn", "switches/conn");
    auto row = [&](const char* name, const Outcome& o) {
      fmt::print("{:<12} {:>12} {:>14.2f} {:>14.2f}\n", name, o.tally.accepted.load(),
                 double(o.tally.returns) / connections, double(o.tally.switches) / connections);
    };
    if (mode != "exclusive") row("plain", plain);
    if (mode != "plain") row("exclusive", exclusive);
    if (mode == "both")
      fmt::print("\nEPOLLEXCLUSIVE {} the wake-ups per connection on this run ({:.2f} -> {:.2f} switches).\n",
                 exclusive.tally.switches < plain.tally.switches ? "cut" : "did not cut",
                 double(plain.tally.switches) / connections, double(exclusive.tally.switches) / connections);
    fmt::print("{}\n", ok ? "OK: every connection was accepted exactly once"
                          : "FAILED: a connection was not accepted within 5 s");
    return ok ? 0 : 1;
  });
}
