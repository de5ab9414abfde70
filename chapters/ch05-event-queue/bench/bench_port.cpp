// bench_port: the port against the queues a reader would use instead, in one run, three ways:
//   --mode saturated   one producer, 2 x CPUs consumers, as fast as it goes: packets/s and
//                      context switches per packet (where LIFO release and the cap pay)
//   --mode pingpong    one value bouncing between two threads through two queues: round trips/s
//                      and the round trip's p50/p99/p99.9 (a lightly loaded server's hand-off)
//   --mode burst       bursts of 1-64 packets with idle gaps between them: post-to-get latency once
//                      consumers have parked, and the CPU a parked consumer burns while idle
//   --mode spin-curve  the port alone, pingpong and burst, for spin limits from 0 to 32 us
// The queues: port (evq::port::Port), port-ex (get_many, 16 at a time), plain (mutex + condvar),
// moodycamel (BlockingConcurrentQueue), tbb (concurrent_bounded_queue), asio (io_context, saturated
// only) and eventfd (pingpong only: the kernel's floor for a cross-thread wake).
// Prints one table per mode with ratios against the port, then the chapter's targets, met or NOT
// met, and writes CSV. A benchmark, never a test: run it on the release build (tools/lab bench ch05).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <asio.hpp>
#include <fmt/core.h>

#include "burst.hpp"
#include "evq/common/cli.hpp"
#include "evq/port/port.hpp"
#include "pingpong.hpp"
#include "queues.hpp"
#include "saturated.hpp"

using namespace std::chrono_literals;
using namespace evq::port::bench;

namespace {

double in_us(std::chrono::nanoseconds d) {
  return static_cast<double>(d.count()) / 1000.0;
}
double in_s(std::chrono::milliseconds d) {
  return static_cast<double>(d.count()) / 1000.0;
}

// asio's handlers run on whichever thread run() picks; each counts into its own thread's counter.
thread_local Counter* asio_counter = nullptr;

bool saturated_asio(SaturatedSample& s, std::uint64_t packets, unsigned threads, unsigned,
                    std::chrono::seconds limit) {
  asio::io_context context(static_cast<int>(threads));
  auto work = asio::make_work_guard(context);
  return measure_saturated(
      s, packets, threads, limit,
      [&](Counter& handled) {
        asio_counter = &handled;
        context.run();
      },
      [&](std::uint64_t) {
        asio::post(context, [] { asio_counter->value.fetch_add(1, std::memory_order_relaxed); });
      },
      [&] {
        work.reset();
        context.stop();
      });
}

struct Settings {
  std::uint64_t packets = 0, rounds = 0;
  unsigned threads = 0, concurrency = 0, bursts = 0;
  int runs = 0;
  std::chrono::microseconds gap{};
  std::chrono::milliseconds idle{};
  std::chrono::seconds limit{};
};

// One queue and the modes it takes part in (an empty function: not in that mode).
struct Peer {
  std::string name;
  std::function<bool(SaturatedSample&, const Settings&)> saturated;
  std::function<bool(PingPongSample&, const Settings&)> pingpong;
  std::function<bool(BurstSample&, const Settings&)> burst;
};

template <typename Q>
Peer queue_peer(std::string name, bool in_pingpong = true, bool in_burst = true) {
  Peer p{std::move(name), nullptr, nullptr, nullptr};
  p.saturated = [](SaturatedSample& s, const Settings& o) {
    return saturated<Q>(s, o.packets, o.threads, o.concurrency, o.limit);
  };
  if (in_pingpong)
    p.pingpong = [](PingPongSample& s, const Settings& o) { return pingpong<Q>(s, o.rounds, o.limit); };
  if (in_burst)
    p.burst = [](BurstSample& s, const Settings& o) {
      return burst<Q>(s, o.bursts, o.gap, o.threads, o.concurrency, o.idle, o.limit);
    };
  return p;
}

std::vector<Peer> all_peers() {
  std::vector<Peer> peers;
  peers.push_back(queue_peer<PortQueue>("port"));
  peers.push_back(queue_peer<PortExQueue>("port-ex"));
  peers.push_back(queue_peer<PlainQueueAdapter>("plain"));
#if EVQ_BENCH_HAVE_MOODYCAMEL
  peers.push_back(queue_peer<MoodycamelQueue>("moodycamel"));
#endif
#if EVQ_BENCH_HAVE_TBB
  peers.push_back(queue_peer<TbbQueue>("tbb"));
#endif
  Peer asio{"asio",
            [](SaturatedSample& s, const Settings& o) {
              return saturated_asio(s, o.packets, o.threads, o.concurrency, o.limit);
            },
            nullptr, nullptr};
  peers.push_back(asio);
#if defined(__linux__)
  Peer eventfd{
      "eventfd", nullptr,
      [](PingPongSample& s, const Settings& o) { return pingpong<EventfdPair>(s, o.rounds, o.limit); },
      nullptr};
  peers.push_back(eventfd);
#endif
  return peers;
}

// The targets, each printed with this run's figure and met / NOT met.
struct Targets {
  struct Line {
    std::string what;
    double value;
    std::string unit;
    bool met;
  };
  std::vector<Line> lines;
  void add(std::string what, double value, std::string unit, bool met) {
    lines.push_back({std::move(what), value, std::move(unit), met});
  }
  void print(unsigned cpus, unsigned threads) const {
    if (lines.empty()) return;
    fmt::print("\ntargets (set for 2 CPUs and 4 consumer threads; this run: {} CPUs, {} consumers{}):\n",
               cpus, threads, cpus == 2 && threads == 4 ? "" : ", so read them as a guide only");
    for (const Line& l : lines)
      fmt::print("  {:<44} {:>10.4g} {:<3} {}\n", l.what, l.value, l.unit, l.met ? "met" : "NOT met");
  }
};

// Runs `run` `runs` times and keeps the median run by `less` (the middle one of the sorted runs):
// on a shared machine one lucky or unlucky run says little, and a ratio of two medians is steadier
// than a ratio of two best runs. nullopt if a run did not finish.
template <typename Sample, typename Run, typename Less>
std::optional<Sample> median_of(int runs, Run run, Less less) {
  std::vector<Sample> all;
  for (int r = 0; r < runs; ++r) {
    Sample s;
    if (!run(s)) return std::nullopt;
    all.push_back(s);
  }
  std::sort(all.begin(), all.end(), less);
  return all[all.size() / 2];
}

struct Csv {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file{nullptr, &std::fclose};
  void row(std::string_view mode, std::string_view queue, double spin_us, double rate, std::string_view unit,
           const Percentiles& p, double cs_per_op, double idle_cpu_ms) {
    fmt::print(file.get(), "{},{},{:.1f},{:.4f},{},{:.3f},{:.3f},{:.3f},{:.6f},{:.4f}\n", mode, queue,
               spin_us, rate, unit, p.p50_us, p.p99_us, p.p999_us, cs_per_op, idle_cpu_ms);
  }
};

[[noreturn]] void gave_up(std::string_view mode, std::string_view queue, std::chrono::seconds limit) {
  fmt::print(stderr, "bench_port: a {} run of {} did not finish within {}s; giving up\n", mode, queue,
             limit.count());
  std::exit(1);
}

void run_saturated(const std::vector<Peer>& peers, const Settings& o, Targets& targets, Csv& csv) {
  fmt::print("\n== saturated: {} packets, 1 producer, {} consumers, port concurrency {}, median of {}\n",
             o.packets, o.threads, o.concurrency, o.runs);
  fmt::print("{:<11} {:>12} {:>15} {:>17} {:>10}\n", "queue", "Mpackets/s", "vol. cs/packet",
             "invol. cs/packet", "port is x");
  std::vector<std::pair<std::string, SaturatedSample>> rows;
  for (const Peer& p : peers) {
    if (!p.saturated) continue;
    auto best = median_of<SaturatedSample>(
        o.runs, [&](SaturatedSample& s) { return p.saturated(s, o); },
        [](const SaturatedSample& a, const SaturatedSample& b) { return a.mpps < b.mpps; });
    if (!best) gave_up("saturated", p.name, o.limit);
    rows.emplace_back(p.name, *best);
  }
  const SaturatedSample* port = rows.front().first == "port" ? &rows.front().second : nullptr;
  for (auto& [name, s] : rows) {
    fmt::print("{:<11} {:>12.2f} {:>15.4f} {:>17.4f} {:>10}\n", name, s.mpps, s.vcsw_per_packet,
               s.ivcsw_per_packet, port ? fmt::format("{:.2f}", port->mpps / s.mpps) : "-");
    csv.row("saturated", name, in_us(evq::port::spin_limit()), s.mpps * 1e6, "packets/s", {},
            s.vcsw_per_packet, 0);
  }
  if (!port) return;
  for (auto& [name, s] : rows) {
    double r = port->mpps / s.mpps;
    if (name == "plain") targets.add("saturated: port >= 5 x plain queue", r, "x", r >= 5);
    if (name == "moodycamel") targets.add("saturated: port >= 1.5 x moodycamel", r, "x", r >= 1.5);
    if (name == "tbb") targets.add("saturated: port >= 1.5 x tbb", r, "x", r >= 1.5);
    if (name == "asio") targets.add("saturated: port >= 2 x asio io_context", r, "x", r >= 2);
  }
  targets.add("saturated: port vol. cs/packet < 0.01", port->vcsw_per_packet, "",
              port->vcsw_per_packet < 0.01);
}

void run_pingpong(const std::vector<Peer>& peers, const Settings& o, Targets& targets, Csv& csv) {
  fmt::print("\n== pingpong: {} round trips between two threads, one value in flight, median of {}\n",
             o.rounds, o.runs);
  fmt::print("{:<11} {:>14} {:>9} {:>9} {:>10} {:>13} {:>10}\n", "queue", "round trips/s", "p50 us", "p99 us",
             "p99.9 us", "vol. cs/trip", "port is x");
  std::vector<std::pair<std::string, PingPongSample>> rows;
  for (const Peer& p : peers) {
    if (!p.pingpong) continue;
    auto best = median_of<PingPongSample>(
        o.runs, [&](PingPongSample& s) { return p.pingpong(s, o); },
        [](const PingPongSample& a, const PingPongSample& b) {
          return a.round_trips_per_s > b.round_trips_per_s;
        });
    if (!best) gave_up("pingpong", p.name, o.limit);
    rows.emplace_back(p.name, *best);
  }
  const PingPongSample* port = rows.front().first == "port" ? &rows.front().second : nullptr;
  for (auto& [name, s] : rows) {
    fmt::print("{:<11} {:>14.0f} {:>9.2f} {:>9.2f} {:>10.2f} {:>13.3f} {:>10}\n", name, s.round_trips_per_s,
               s.rtt.p50_us, s.rtt.p99_us, s.rtt.p999_us, s.vcsw_per_round_trip,
               port ? fmt::format("{:.2f}", port->round_trips_per_s / s.round_trips_per_s) : "-");
    csv.row("pingpong", name, in_us(evq::port::spin_limit()), s.round_trips_per_s, "round_trips/s", s.rtt,
            s.vcsw_per_round_trip, 0);
  }
  if (!port) return;
  for (auto& [name, s] : rows) {
    double r = port->round_trips_per_s / s.round_trips_per_s;
    if (name == "plain") {
      targets.add("pingpong: port >= 2 x plain queue", r, "x", r >= 2);
      targets.add("pingpong: port p99 <= plain queue's p99", port->rtt.p99_us, "us",
                  port->rtt.p99_us <= s.rtt.p99_us);
    }
    if (name == "moodycamel") targets.add("pingpong: port >= 0.5 x moodycamel", r, "x", r >= 0.5);
  }
}

void run_burst(const std::vector<Peer>& peers, const Settings& o, Targets& targets, Csv& csv) {
  fmt::print(
      "\n== burst: {} bursts of 1-64 packets, {} us apart, {} consumers; then {} ms idle, median of {}\n",
      o.bursts, o.gap.count(), o.threads, o.idle.count(), o.runs);
  fmt::print("{:<11} {:>9} {:>14} {:>14} {:>15} {:>24}\n", "queue", "packets", "post-get p50", "post-get p99",
             "post-get p99.9", "idle CPU, worst thread");
  std::vector<std::pair<std::string, BurstSample>> rows;
  for (const Peer& p : peers) {
    if (!p.burst) continue;
    auto best = median_of<BurstSample>(
        o.runs, [&](BurstSample& s) { return p.burst(s, o); },
        [](const BurstSample& a, const BurstSample& b) {
          return a.post_to_get.p50_us < b.post_to_get.p50_us;
        });
    if (!best) gave_up("burst", p.name, o.limit);
    rows.emplace_back(p.name, *best);
  }
  for (auto& [name, s] : rows) {
    fmt::print("{:<11} {:>9} {:>11.2f} us {:>11.2f} us {:>12.2f} us {:>15.1f} us/{:.1f} s\n", name, s.packets,
               s.post_to_get.p50_us, s.post_to_get.p99_us, s.post_to_get.p999_us, s.idle_cpu_ms_max * 1000,
               in_s(o.idle));
    csv.row("burst", name, in_us(evq::port::spin_limit()), static_cast<double>(s.packets), "packets",
            s.post_to_get, 0, s.idle_cpu_ms_max);
  }
  const BurstSample* port = rows.front().first == "port" ? &rows.front().second : nullptr;
  if (!port) return;
  for (auto& [name, s] : rows)
    if (name == "plain")
      targets.add("burst: port post-to-get p50 <= plain queue's", port->post_to_get.p50_us, "us",
                  port->post_to_get.p50_us <= s.post_to_get.p50_us);
  const double per_second = port->idle_cpu_ms_max * 1000.0 / static_cast<double>(o.idle.count());
  targets.add("burst: a parked port thread < 0.5 ms CPU per s", per_second, "ms", per_second < 0.5);
}

// The spin/park trade-off, measured: the same two light loads for a range of spin limits.
void run_spin_curve(const Settings& o, Csv& csv) {
  fmt::print("\n== spin-curve: the port alone; pingpong {} round trips, burst {} bursts; median of {}\n",
             o.rounds, o.bursts, o.runs);
  fmt::print("{:>11} {:>14} {:>13} {:>18} {:>22}\n", "spin limit", "round trips/s", "pingpong p99",
             "burst p50", "idle CPU, worst thread");
  const std::chrono::nanoseconds saved = evq::port::spin_limit();
  for (auto limit : {0ns, 500ns, 1000ns, 2000ns, 4000ns, 8000ns, 16000ns, 32000ns}) {
    evq::port::set_spin_limit(limit);
    auto pp = median_of<PingPongSample>(
        o.runs, [&](PingPongSample& s) { return pingpong<PortQueue>(s, o.rounds, o.limit); },
        [](const PingPongSample& a, const PingPongSample& b) {
          return a.round_trips_per_s > b.round_trips_per_s;
        });
    auto bu = median_of<BurstSample>(
        o.runs,
        [&](BurstSample& s) {
          return burst<PortQueue>(s, o.bursts, o.gap, o.threads, o.concurrency, o.idle, o.limit);
        },
        [](const BurstSample& a, const BurstSample& b) {
          return a.post_to_get.p50_us < b.post_to_get.p50_us;
        });
    if (!pp || !bu) gave_up("spin-curve", "port", o.limit);
    fmt::print("{:>8.1f} us {:>14.0f} {:>10.2f} us {:>15.2f} us {:>15.1f} us/{:.1f} s\n", in_us(limit),
               pp->round_trips_per_s, pp->rtt.p99_us, bu->post_to_get.p50_us, bu->idle_cpu_ms_max * 1000,
               in_s(o.idle));
    csv.row("spin-curve-pingpong", "port", in_us(limit), pp->round_trips_per_s, "round_trips/s", pp->rtt,
            pp->vcsw_per_round_trip, 0);
    csv.row("spin-curve-burst", "port", in_us(limit), static_cast<double>(bu->packets), "packets",
            bu->post_to_get, 0, bu->idle_cpu_ms_max);
  }
  evq::port::set_spin_limit(saved);
}

std::vector<std::string> split(std::string_view list) {
  std::vector<std::string> out;
  for (std::string_view rest = list; !rest.empty();) {
    std::size_t comma = rest.find(',');
    out.emplace_back(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned cpus = evq::port::cpu_count();
  std::vector<Peer> peers = all_peers();
  std::string names;
  for (const Peer& p : peers) names += (names.empty() ? "" : ",") + p.name;
  evq::Cli cli("bench_port",
               "The port against a mutex+condvar queue, moodycamel, oneTBB, asio and an eventfd pair, "
               "saturated, ping-ponging and in bursts: throughput, latency percentiles, context switches.");
  cli.option("mode", "saturated, pingpong, burst, spin-curve, or all (the first three)", "all");
  cli.option("queues", "which queues to run, comma-separated (one alone is handy under perf)", names);
  cli.option("packets", "saturated: packets per run", "4000000");
  cli.option("rounds", "pingpong: round trips per run", "50000");
  cli.option("bursts", "burst: bursts per run", "300");
  cli.option("gap-us", "burst: idle microseconds before each burst", "1000");
  cli.option("idle-ms", "burst: the idle stretch whose CPU is measured", "2000");
  cli.option("threads", "consumer threads (default: 2 x CPUs, the rule of thumb)", std::to_string(2 * cpus));
  cli.option("concurrency", "the port's concurrency value (0: CPUs)", "0");
  cli.option(
      "spin-us", "the cap on the port's spin in microseconds (evq::port::set_spin_limit)",
      std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(evq::port::spin_limit()).count()));
  cli.option("runs", "runs per queue and mode; the table shows the median run", "3");
  cli.option("limit", "seconds a single run may take before the benchmark gives up", "60");
  cli.option("csv", "where to write the CSV", "bench_port.csv");
  cli.epilog(
      "Try: tools/lab bench ch05                      (all three modes, every queue built here)\n"
      "     build/release/bin/ch05/bench_port --mode pingpong --queues port,plain,eventfd\n"
      "     build/release/bin/ch05/bench_port --mode spin-curve\n"
      "The moodycamel and tbb rows need libconcurrentqueue-dev and libtbb-dev at build time.");
  cli.parse(argc, argv);
  return cli.run([&]() -> int {
    Settings o;
    o.packets = static_cast<std::uint64_t>(cli.get_int("packets", 1000, 100'000'000));
    o.rounds = static_cast<std::uint64_t>(cli.get_int("rounds", 100, 100'000'000));
    o.bursts = static_cast<unsigned>(cli.get_int("bursts", 7, 1'000'000));
    o.gap = std::chrono::microseconds(cli.get_int("gap-us", 0, 1'000'000));
    o.idle = std::chrono::milliseconds(cli.get_int("idle-ms", 10, 60'000));
    o.threads = static_cast<unsigned>(cli.get_int("threads", 1, 256));
    const auto concurrency = static_cast<unsigned>(cli.get_int("concurrency", 0, 256));
    o.concurrency = concurrency == 0 ? cpus : concurrency;
    o.runs = static_cast<int>(cli.get_int("runs", 1, 20));
    o.limit = std::chrono::seconds(cli.get_int("limit", 1, 600));
    evq::port::set_spin_limit(std::chrono::microseconds(cli.get_int("spin-us", 0, 1000)));

    const std::string mode = cli.get("mode");
    const std::vector<std::string> modes_known = {"saturated", "pingpong", "burst", "spin-curve", "all"};
    if (std::find(modes_known.begin(), modes_known.end(), mode) == modes_known.end())
      cli.fail("--mode: no mode named '" + mode + "' (saturated, pingpong, burst, spin-curve, all)");
    std::vector<std::string> wanted = split(cli.get("queues"));
    if (wanted.empty()) cli.fail("--queues: name at least one queue (" + names + ")");
    for (const std::string& name : wanted)
      if (std::none_of(peers.begin(), peers.end(), [&](const Peer& p) { return p.name == name; }))
        cli.fail("--queues: no queue named '" + name + "' in this build (the queues: " + names + ")");
    std::erase_if(peers, [&](const Peer& p) {
      return std::find(wanted.begin(), wanted.end(), p.name) == wanted.end();
    });

    Csv csv;
    const std::string path = cli.get("csv");
    csv.file.reset(std::fopen(path.c_str(), "w"));
    if (!csv.file) cli.fail("--csv: cannot write " + path);
    fmt::print(csv.file.get(),
               "mode,queue,spin_limit_us,rate,rate_unit,p50_us,p99_us,p999_us,cs_per_op,idle_cpu_ms\n");

    fmt::print(
        "bench_port: {} CPUs, {} consumer threads, port concurrency {}, spin limit {} us; queues: {}\n", cpus,
        o.threads, o.concurrency, in_us(evq::port::spin_limit()), cli.get("queues"));
    Targets targets;
    if (mode == "saturated" || mode == "all") run_saturated(peers, o, targets, csv);
    if (mode == "pingpong" || mode == "all") run_pingpong(peers, o, targets, csv);
    if (mode == "burst" || mode == "all") run_burst(peers, o, targets, csv);
    if (mode == "spin-curve") run_spin_curve(o, csv);
    targets.print(cpus, o.threads);
    fmt::print(
        "\nthe port measured a sleep-to-wake cost of {:.1f} us here; its spin limit is {:.1f} us (cap {:.1f} us)\n",
        in_us(evq::port::measured_wake_cost()), in_us(evq::port::current_spin_limit()),
        in_us(evq::port::spin_limit()));
    fmt::print("\nwrote {}\n", path);
    return 0;
  });
}
