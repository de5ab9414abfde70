// bench_echo: loopback echo throughput, 64 connections in ping-pong with small messages, against
// ch02's raw epoll server and this chapter's EchoServer on each backend, in the same run.
//
//   bench_echo                                   # defaults: 64 connections, 64-byte messages, 3 rounds
//   bench_echo --seconds 3 --rounds 5 --csv out.csv
//
// Each round runs every server once, in turn, so slow drift on a shared machine hits all of them;
// the table shows each server's median over the rounds and its ratio to raw epoll's median.
#include <pthread.h>

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
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
  if (server == "raw epoll") {  // ch02's edge-triggered server: the baseline
    raw = std::make_unique<evq::epoll::EchoServer>(std::move(listener));
    thread = std::thread([&] { raw->run(); });
    stop = [&] { raw->stop(); };
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

std::string target_of(const std::string& server) {
  if (server == "epoll") return ">= 0.90x";
  if (server == "io_uring") return ">= 1.00x";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli(
      "bench_echo",
      "Echo throughput over loopback: ch02's raw epoll server vs this chapter's server on each backend.");
  cli.option("seconds", "measured seconds per server per round", "2");
  cli.option("warmup", "seconds of unmeasured load before each measurement", "0.3");
  cli.option("rounds", "rounds; each runs every server once", "3");
  cli.option("connections", "client connections in ping-pong", "64");
  cli.option("size", "message size in bytes", "64");
  cli.option("servers", "comma-separated: raw-epoll,epoll,kqueue,io_uring, or all", "all");
  cli.option("csv", "write one row per server and round (plus medians) to this file", "bench_echo.csv");
  cli.epilog(
      "Build it with the release preset for real numbers: tools/lab bench ch04.\n"
      "Only 127.0.0.1 is used; the load runs on one thread, the server on another.");
  cli.parse(argc, argv);
  return cli.run([&]() -> int {
    Settings s{static_cast<int>(cli.get_int("connections", 1, 10000)),
               static_cast<std::size_t>(cli.get_int("size", 1, 60000)), 0, 0};
    try {
      s.seconds = std::stod(cli.get("seconds"));
      s.warmup = std::stod(cli.get("warmup"));
    } catch (const std::exception&) {
      cli.fail("--seconds and --warmup take a number of seconds, like 2 or 0.5");
    }
    if (s.seconds <= 0 || s.seconds > 600 || s.warmup < 0 || s.warmup > 60)
      cli.fail("--seconds must be in (0, 600] and --warmup in [0, 60]");
    int rounds = static_cast<int>(cli.get_int("rounds", 1, 100));

    std::vector<std::string> servers;
    std::string wanted = "," + cli.get("servers") + ",";
    bool all = wanted == ",all,";
    if (auto at = wanted.find(",uring,"); at != std::string::npos) wanted.replace(at, 7, ",io_uring,");
    if (!all) {  // every name must be a server this program knows
      std::string list = cli.get("servers");
      for (std::size_t start = 0; start <= list.size();) {
        std::size_t comma = std::min(list.find(',', start), list.size());
        std::string name = list.substr(start, comma - start);
        if (name != "raw-epoll" && why_not_usable(name).rfind("unknown", 0) == 0)
          cli.fail(fmt::format("--servers: unknown server '{}' (raw-epoll, epoll, kqueue, io_uring, or all)",
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
    if (servers.empty())
      cli.fail("no server to measure; --servers takes raw-epoll,epoll,kqueue,io_uring or all");

#ifndef NDEBUG
    fmt::print("NOTE: this is not an optimised build; the figures mean little (use tools/lab bench ch04)\n");
#endif
    fmt::print("{} connections, {}-byte messages, {} round(s) of {} s per server (+{} s warm-up)\n",
               s.connections, s.size, rounds, s.seconds, s.warmup);
    std::FILE* csv = std::fopen(cli.get("csv").c_str(), "w");
    if (!csv) cli.fail(fmt::format("cannot write {}", cli.get("csv")));
    fmt::print(csv,
               "server,round,round_trips,seconds,round_trips_per_second,ratio_to_raw_epoll,"
               "server_cpu_us_per_round_trip,cpu_ratio_raw_epoll_over_this\n");

    std::map<std::string, std::vector<double>> rates,
        cpu_costs;  // round trips/s; server CPU µs per round trip
    bool failed = false;
    for (int round = 1; round <= rounds; ++round) {
      std::map<std::string, double> this_round, this_cpu;
      for (const std::string& server : servers) {
        bench::LoadResult r = run_server(server, s);
        if (!r.error.empty()) {
          fmt::print("round {} {}: FAILED: {}\n", round, server, r.error);
          failed = true;
          continue;
        }
        double rate = static_cast<double>(r.round_trips) / r.seconds;
        this_round[server] = rate;
        rates[server].push_back(rate);
        double cpu_us = r.server_cpu_seconds > 0 && r.round_trips > 0
                            ? r.server_cpu_seconds * 1e6 / static_cast<double>(r.round_trips)
                            : 0;
        if (cpu_us > 0) {
          this_cpu[server] = cpu_us;
          cpu_costs[server].push_back(cpu_us);
        }
        fmt::print("round {} {:<10} {:>12.0f} round trips/s  {:>6.2f} server CPU us/round trip\n", round,
                   server, rate, cpu_us);
        std::fflush(stdout);
      }
      for (const auto& [server, rate] : this_round) {
        double base = this_round.contains("raw epoll") ? this_round["raw epoll"] : 0;
        double base_cpu = this_cpu.contains("raw epoll") ? this_cpu["raw epoll"] : 0;
        double cpu = this_cpu.contains(server) ? this_cpu[server] : 0;
        fmt::print(csv, "{},{},{:.0f},{:.3f},{:.0f},{},{},{}\n", server, round, rate * s.seconds, s.seconds,
                   rate, base > 0 ? fmt::format("{:.3f}", rate / base) : "",
                   cpu > 0 ? fmt::format("{:.3f}", cpu) : "",
                   base_cpu > 0 && cpu > 0 ? fmt::format("{:.3f}", base_cpu / cpu) : "");
      }
    }

    double base = rates.contains("raw epoll") ? median(rates["raw epoll"]) : 0;
    double base_cpu = cpu_costs.contains("raw epoll") ? median(cpu_costs["raw epoll"]) : 0;
    fmt::print("\n{:<12} {:>13} {:>9} {:>16}  {:>15} {:>11}\n", "server", "round trips/s", "ratio", "target",
               "server CPU us/rt", "CPU ratio");
    fmt::print("{}\n", std::string(82, '-'));
    for (const std::string& server : servers) {
      if (!rates.contains(server)) continue;
      double m = median(rates[server]);
      std::string ratio = base > 0 ? fmt::format("{:.2f}x", m / base) : "-";
      std::string target = target_of(server);
      if (!target.empty() && base > 0) {
        double want = server == "epoll" ? 0.9 : 1.0;
        target += m / base >= want ? " met" : " MISSED";
      }
      double cpu = cpu_costs.contains(server) ? median(cpu_costs[server]) : 0;
      std::string cpu_ratio = base_cpu > 0 && cpu > 0 ? fmt::format("{:.2f}x", base_cpu / cpu) : "-";
      fmt::print("{:<12} {:>13.0f} {:>9} {:>16}  {:>15.2f} {:>11}\n", server, m, ratio, target, cpu,
                 cpu_ratio);
      fmt::print(csv, "{},median,,,{:.0f},{},{:.3f},{}\n", server, m,
                 base > 0 ? fmt::format("{:.3f}", m / base) : "", cpu,
                 base_cpu > 0 && cpu > 0 ? fmt::format("{:.3f}", base_cpu / cpu) : "");
    }
    std::fclose(csv);
    fmt::print(
        "\nratio: median round trips/s over raw epoll's (the figure that matters). CPU ratio: raw epoll's median\n"
        "server CPU time per round trip over this server's (above 1: cheaper than raw epoll); it moves\n"
        "less than wall-clock throughput when other programs share the cores.\n");
    fmt::print("\nCSV written to {}\n", cli.get("csv"));
    return failed ? 1 : 0;
  });
}
