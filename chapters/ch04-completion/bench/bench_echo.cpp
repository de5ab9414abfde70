// bench_echo: loopback echo throughput and latency, N connections in ping-pong with small messages,
// against ch02's raw epoll server, this chapter's EchoServer on each backend and, as the external
// peer, an echo server written with Boost.Asio, in the same run; for 1, 64 and 1000 connections.
//
//   bench_echo                                   # defaults: 1, 64 and 1000 connections, 3 rounds
//   bench_echo --connections 64 --seconds 3 --rounds 5 --csv out.csv
//
// Each round runs every server once, in turn, so slow drift on a shared machine hits all of them;
// the table shows each server's median over the rounds and its ratio to raw epoll's median.
#include <pthread.h>

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "evq/common/cli.hpp"
#include "evq/common/net.hpp"
#include "evq/completion/backends.hpp"
#include "evq/completion/echo_server.hpp"
#include "evq/epoll/echo_server.hpp"
#include "load.hpp"
#if EVQ_COMPLETION_HAVE_URING
#include "evq/completion/uring_multishot_echo.hpp"
#endif
#if EVQ_BENCH_HAVE_ASIO
#include "asio_echo.hpp"
#endif

using namespace evq::completion;

namespace {

struct Settings {
  int connections;
  std::size_t size;
  double warmup, seconds;
};

// [snippet bench-run]
// Starts one server on its own thread, runs the load against it from this thread, stops it.
bench::LoadResult run_server(const std::string& server, const Settings& s) {
  evq::UniqueFd listener = evq::listen_loopback(evq::Family::v4, 1024);
  std::uint16_t port = evq::local_port(listener.get());
  std::function<void()> stop;
  std::thread thread;
  std::unique_ptr<evq::epoll::EchoServer> raw;
  std::unique_ptr<CompletionQueue> queue;
  std::unique_ptr<EchoServer> completion;
#if EVQ_BENCH_HAVE_ASIO
  std::unique_ptr<bench::AsioEchoServer> asio;
#endif
#if EVQ_COMPLETION_HAVE_URING
  std::unique_ptr<UringMultishotEcho> multishot;
#endif
  if (server == "raw epoll") {  // ch02's edge-triggered server: the baseline
    raw = std::make_unique<evq::epoll::EchoServer>(std::move(listener));
    thread = std::thread([&] { raw->run(); });
    stop = [&] { raw->stop(); };
#if EVQ_COMPLETION_HAVE_URING
  } else if (server == "io_uring-multishot") {  // the kernel lends the buffers: uring_multishot_echo.hpp
    multishot = std::make_unique<UringMultishotEcho>(listener.get());
    thread = std::thread([&] { multishot->run(); });
    stop = [&] { multishot->stop(); };
#endif
#if EVQ_BENCH_HAVE_ASIO
  } else if (server == "asio") {  // the peer a reader would pick instead
    asio = std::make_unique<bench::AsioEchoServer>(std::move(listener));
    thread = std::thread([&] { asio->run(); });
    stop = [&] { asio->stop(); };
#endif
  } else {  // this chapter's one server, on the backend named `server`
    queue = open_queue(server);
    completion = std::make_unique<EchoServer>(*queue, listener.get());
    thread = std::thread([&] { completion->run(); });
    stop = [&] { completion->stop(); };
  }
  clockid_t server_clock{};
  if (::pthread_getcpuclockid(thread.native_handle(), &server_clock) != 0)
    server_clock = CLOCK_THREAD_CPUTIME_ID;
  bench::LoadResult r = bench::run_load(port, s.connections, s.size, std::chrono::duration<double>(s.warmup),
                                        std::chrono::duration<double>(s.seconds), server_clock);
  stop();
  thread.join();
  return r;
}
// [/snippet bench-run]

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The chapter's target for a backend at a connection count: the least ratio to raw epoll it must
// reach, if it has one. At 1000 connections every backend must also reach the Asio peer (>= 1.0x).
// One connection has none: a single ping-pong measures the machine's wake-up latency more than
// the server, and swings by a factor of five from round to round on a shared virtual machine.
std::optional<double> target_ratio(const std::string& server, int connections) {
  if (server == "epoll" && connections == 64) return 0.90;
  if (server == "epoll" && connections >= 1000) return 0.95;
  if (server == "io_uring" && connections == 64) return 1.00;
  if (server == "io_uring-multishot" && connections >= 1000) return 1.30;
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("bench_echo",
               "Echo throughput and latency over loopback: ch02's raw epoll server, this chapter's server on "
               "each backend, and an Asio echo server, for 1, 64 and 1000 connections.");
  cli.option("seconds", "measured seconds per server per round", "2");
  cli.option("warmup", "seconds of unmeasured load before each measurement", "0.3");
  cli.option("rounds", "rounds; each runs every server once", "3");
  cli.option("connections", "client connections in ping-pong, comma-separated counts", "1,64,1000");
  cli.option("size", "message size in bytes", "64");
  cli.option("servers", "comma-separated: raw-epoll,epoll,kqueue,io_uring,io_uring-multishot,asio, or all",
             "all");
  cli.option("csv", "write one row per server, connection count and round (plus medians)", "bench_echo.csv");
  cli.epilog(
      "Build it with the release preset for real numbers: tools/lab bench ch04.\n"
      "Only 127.0.0.1 is used; the load runs on one thread, each server on another.\n"
      "The asio row needs the asio headers at build time (Debian: libasio-dev).");
  cli.parse(argc, argv);
  return cli.run([&]() -> int {
    Settings s{0, static_cast<std::size_t>(cli.get_int("size", 1, 60000)), 0, 0};
    try {
      s.seconds = std::stod(cli.get("seconds"));
      s.warmup = std::stod(cli.get("warmup"));
    } catch (const std::exception&) {
      cli.fail("--seconds and --warmup take a number of seconds, like 2 or 0.5");
    }
    if (s.seconds <= 0 || s.seconds > 600 || s.warmup < 0 || s.warmup > 60)
      cli.fail("--seconds must be in (0, 600] and --warmup in [0, 60]");
    int rounds = static_cast<int>(cli.get_int("rounds", 1, 100));
    std::vector<int> counts;
    {
      std::string list = cli.get("connections");
      for (std::size_t start = 0; start <= list.size();) {
        std::size_t comma = std::min(list.find(',', start), list.size());
        std::string one = list.substr(start, comma - start);
        char* end = nullptr;
        long n = std::strtol(one.c_str(), &end, 10);
        if (one.empty() || *end != '\0' || n < 1 || n > 10000)
          cli.fail(fmt::format("--connections: '{}' is not a count from 1 to 10000 (say 1,64,1000)", one));
        counts.push_back(static_cast<int>(n));
        start = comma + 1;
      }
    }
#if EVQ_BENCH_HAVE_ASIO
    const bool have_asio = true;
#else
    const bool have_asio = false;
#endif

    std::vector<std::string> servers;
    std::string wanted = "," + cli.get("servers") + ",";
    bool all = wanted == ",all,";
    if (auto at = wanted.find(",uring,"); at != std::string::npos) wanted.replace(at, 7, ",io_uring,");
    if (!all) {  // every name must be a server this program knows
      std::string list = cli.get("servers");
      for (std::size_t start = 0; start <= list.size();) {
        std::size_t comma = std::min(list.find(',', start), list.size());
        std::string name = list.substr(start, comma - start);
        if (name == "asio" && !have_asio)
          cli.fail("--servers: asio is not in this build (apt-get install libasio-dev)");
        if (name != "raw-epoll" && name != "asio" && name != "io_uring-multishot" &&
            why_not_usable(name).rfind("unknown", 0) == 0)
          cli.fail(fmt::format(
              "--servers: unknown server '{}' (raw-epoll, epoll, kqueue, io_uring, io_uring-multishot, asio, or all)",
              name));
        start = comma + 1;
      }
    }
    if (all || wanted.find(",raw-epoll,") != std::string::npos) servers.push_back("raw epoll");
    for (const BackendInfo& b : backends()) {
      if (!all && wanted.find("," + b.name + ",") == std::string::npos) continue;
      if (b.usable)
        servers.push_back(b.name);
      else if (!all)
        cli.fail(fmt::format("backend {} cannot run here: {}", b.name, b.why_not));
      else
        fmt::print("(backend {} not measured: {})\n", b.name, b.why_not);
    }
#if EVQ_COMPLETION_HAVE_URING
    if (all || wanted.find(",io_uring-multishot,") != std::string::npos) {
      if (std::string why = UringMultishotEcho::unavailable_reason(); why.empty())
        servers.push_back("io_uring-multishot");
      else if (!all)
        cli.fail("io_uring-multishot cannot run here: " + why);
      else
        fmt::print("(io_uring-multishot not measured: {})\n", why);
    }
#endif
    if (have_asio && (all || wanted.find(",asio,") != std::string::npos)) servers.push_back("asio");
    if (all && !have_asio)
      fmt::print("(asio not measured: this build has no asio headers; apt-get install libasio-dev)\n");
    if (servers.empty())
      cli.fail("no server to measure; --servers takes raw-epoll,epoll,kqueue,io_uring,asio or all");

#ifndef NDEBUG
    fmt::print("NOTE: this is not an optimised build; the figures mean little (use tools/lab bench ch04)\n");
#endif
    std::FILE* csv = std::fopen(cli.get("csv").c_str(), "w");
    if (!csv) cli.fail(fmt::format("cannot write {}", cli.get("csv")));
    fmt::print(csv,
               "connections,server,round,round_trips_per_second,ratio_to_raw_epoll,p50_us,p99_us,p999_us,"
               "server_cpu_us_per_round_trip\n");

    bool failed = false;
    std::vector<std::string> verdicts;
    for (int connections : counts) {
      s.connections = connections;
      fmt::print("\n== {} connection(s), {}-byte messages, {} round(s) of {} s per server (+{} s warm-up)\n",
                 connections, s.size, rounds, s.seconds, s.warmup);
      struct Series {
        std::vector<double> rate, cpu, p50, p99, p999;
      };
      std::map<std::string, Series> by;
      for (int round = 1; round <= rounds; ++round) {
        double base = 0;
        for (const std::string& server : servers) {
          bench::LoadResult r = run_server(server, s);
          if (!r.error.empty()) {
            fmt::print("round {} {}: FAILED: {}\n", round, server, r.error);
            failed = true;
            continue;
          }
          double rate = static_cast<double>(r.round_trips) / r.seconds;
          double cpu_us = r.server_cpu_seconds > 0 && r.round_trips > 0
                              ? r.server_cpu_seconds * 1e6 / static_cast<double>(r.round_trips)
                              : 0;
          if (server == "raw epoll") base = rate;
          Series& x = by[server];
          x.rate.push_back(rate);
          x.p50.push_back(r.p50_us);
          x.p99.push_back(r.p99_us);
          x.p999.push_back(r.p999_us);
          if (cpu_us > 0) x.cpu.push_back(cpu_us);
          fmt::print(
              "round {} {:<18} {:>12.0f} round trips/s  p50 {:>8.1f} us  p99 {:>8.1f} us  {:>6.2f} server CPU us/rt\n",
              round, server, rate, r.p50_us, r.p99_us, cpu_us);
          std::fflush(stdout);
          fmt::print(csv, "{},{},{},{:.0f},{},{:.2f},{:.2f},{:.2f},{}\n", connections, server, round, rate,
                     base > 0 ? fmt::format("{:.3f}", rate / base) : "", r.p50_us, r.p99_us, r.p999_us,
                     cpu_us > 0 ? fmt::format("{:.3f}", cpu_us) : "");
        }
      }
      const double base = by.contains("raw epoll") ? median(by["raw epoll"].rate) : 0;
      const double asio_rate = by.contains("asio") ? median(by["asio"].rate) : 0;
      fmt::print("\n{:<18} {:>13} {:>8} {:>10} {:>10} {:>11} {:>16}\n", "server", "round trips/s", "ratio",
                 "p50 us", "p99 us", "p99.9 us", "server CPU us/rt");
      fmt::print("{}\n", std::string(92, '-'));
      for (const std::string& server : servers) {
        if (!by.contains(server)) continue;
        Series& x = by[server];
        double m = median(x.rate);
        double cpu = x.cpu.empty() ? 0 : median(x.cpu);
        fmt::print("{:<18} {:>13.0f} {:>8} {:>10.1f} {:>10.1f} {:>11.1f} {:>16.2f}\n", server, m,
                   base > 0 ? fmt::format("{:.2f}x", m / base) : "-", median(x.p50), median(x.p99),
                   median(x.p999), cpu);
        fmt::print(csv, "{},{},median,{:.0f},{},{:.2f},{:.2f},{:.2f},{:.3f}\n", connections, server, m,
                   base > 0 ? fmt::format("{:.3f}", m / base) : "", median(x.p50), median(x.p99),
                   median(x.p999), cpu);
        if (server == "raw epoll" || server == "asio") continue;
        if (auto want = target_ratio(server, connections); want && base > 0)
          verdicts.push_back(fmt::format("  {:>4} connections: {:<18} >= {:.2f} x raw epoll {:>8.2f} x   {}",
                                         connections, server, *want, m / base,
                                         m / base >= *want ? "met" : "NOT met"));
        if (asio_rate > 0 && server != "kqueue" && connections >= 1000)
          verdicts.push_back(fmt::format("  {:>4} connections: {:<18} >= 1.00 x asio      {:>8.2f} x   {}",
                                         connections, server, m / asio_rate,
                                         m >= asio_rate ? "met" : "NOT met"));
      }
    }
    std::fclose(csv);
    if (!verdicts.empty()) {
      fmt::print(
          "\ntargets (medians of this run; the kqueue backend is an emulation over epoll, so it has none):\n");
      for (const std::string& v : verdicts) fmt::print("{}\n", v);
    }
    fmt::print(
        "\nratio: median round trips/s over raw epoll's in the same run (the figure that matters). Latency:\n"
        "from a client's send to the last byte of its echo, the median over rounds of each round's percentile.\n"
        "Server CPU: the server thread's CPU time per round trip, steadier than throughput on a shared machine.\n");
    fmt::print("\nCSV written to {}\n", cli.get("csv"));
    return failed ? 1 : 0;
  });
}
