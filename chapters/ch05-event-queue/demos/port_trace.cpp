// Records what a port does under a small workload and writes it as a Chrome trace (open it at
// https://ui.perfetto.dev), plus the same story as an ASCII timeline on the terminal. A pool of
// 2 x concurrency threads handles bursts of packets; every fifth packet blocks elsewhere inside a
// BlockingScope, so a waiter is released in its place. In the picture: the most recent waiter
// released first, never more than `concurrency` threads running outside a scope, and the same few
// threads doing all the work while the others sleep.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <system_error>
#include <thread>

#include <fmt/core.h>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/port/blocking_scope.hpp"
#include "evq/port/thread_pool.hpp"
#include "evq/port/trace.hpp"

using namespace std::chrono_literals;
using evq::port::Trace;

namespace {

// CPU work the port can see as "running" (a sleep would be a wait the port cannot see).
void busy_for(std::chrono::microseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("port_trace",
               "Record a port at work and write a Chrome trace (Perfetto) and an ASCII timeline.");
  // The default lies in the temp directory, so a tour run from the repository leaves nothing there.
  const std::string default_out = (std::filesystem::temp_directory_path() / "evq-port-trace.json").string();
  cli.option("out", "where to write the trace JSON", default_out);
  cli.option("concurrency", "the port's concurrency value", "2");
  cli.option("bursts", "bursts of packets to post", "3");
  cli.option("packets", "packets per burst", "8");
  cli.option("work-us", "microseconds of CPU work per packet", "800");
  cli.epilog(
      "Try: build/dev/bin/ch05/port_trace --out /tmp/port.json   then open it in ui.perfetto.dev\n"
      "     python3 chapters/ch05-event-queue/tools/trace_to_svg.py /tmp/port.json /tmp/port.svg");
  cli.parse(argc, argv);
  return cli.run([&]() -> int {
    const auto concurrency = static_cast<unsigned>(cli.get_int("concurrency", 1, 16));
    const int bursts = static_cast<int>(cli.get_int("bursts", 1, 100));
    const int per_burst = static_cast<int>(cli.get_int("packets", 1, 1000));
    const std::chrono::microseconds work(cli.get_int("work-us", 0, 100000));
    const std::string out = cli.get("out");
    evq::Narrator say;

    Trace trace;
    trace.name_thread("producer");
    evq::port::Port port(concurrency);
    port.set_trace(&trace);
    say.step("Port(concurrency {}) with a Trace attached", concurrency);
    std::atomic<int> handled{0}, blocked{0};
    evq::port::ThreadPool pool(port, [&](const evq::port::Packet& p) {
      if (p.key % 5 == 4) {
        evq::port::BlockingScope blocking;  // e.g. a synchronous file read: let another thread run
        std::this_thread::sleep_for(2 * work);
        ++blocked;
      } else {
        busy_for(work);
      }
      ++handled;
    });
    say.step("ThreadPool of {} threads (2 x concurrency), all parked in get()", pool.size());
    auto wait_idle = [&](int target) {
      auto deadline = std::chrono::steady_clock::now() + 10s;
      while (handled.load() < target || port.counters().waiting < pool.size()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(200us);
      }
      return true;
    };
    if (!wait_idle(0)) {
      fmt::print(stderr, "port_trace: the pool did not start\n");
      return 1;
    }
    int key = 0;
    for (int b = 0; b < bursts; ++b) {
      for (int i = 0; i < per_burst; ++i) port.post(static_cast<std::uint64_t>(key++));
      say.step("burst {}: posted {} packets", b + 1, per_burst);
      if (!wait_idle(key)) {
        fmt::print(stderr, "port_trace: packets were not handled in time\n");
        return 1;
      }
    }
    pool.stop();
    port.set_trace(nullptr);
    try {
      trace.write_chrome_json(out);
    } catch (const std::system_error& e) {
      fmt::print(stderr, "port_trace: cannot write the trace: {}\n", e.what());
      return 1;
    }
    say.step("{} packets handled ({} inside a BlockingScope); trace written to {}", handled.load(),
             blocked.load(), out);
    say.aside("open it at https://ui.perfetto.dev, or read the timeline below");

    unsigned max_running = 0;
    for (const Trace::Event& e : trace.events())
      if (e.kind == Trace::Kind::counters) max_running = std::max(max_running, e.running);
    fmt::print("\n{}", trace.ascii_timeline(72));
    fmt::print("           '#' running a packet, '.' parked in get(), 'b' blocked inside a BlockingScope\n");
    say.step("the most threads ever counted running: {} (cap {}; above it only after a scope ends)",
             max_running, concurrency);
    if (handled.load() != key) return 1;
    return 0;
  });
}
