// What bench_port measures with, shared by its three modes: context switches (getrusage), a
// thread's own CPU time, and percentiles of recorded latencies.
#pragma once

#include <pthread.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace evq::port::bench {

struct Switches {
  long voluntary = 0, involuntary = 0;
  static Switches now() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return {usage.ru_nvcsw, usage.ru_nivcsw};
  }
  Switches operator-(const Switches& earlier) const {
    return {voluntary - earlier.voluntary, involuntary - earlier.involuntary};
  }
};

// CPU time used so far by the thread behind `clock` (see thread_clock()), in nanoseconds.
inline std::int64_t cpu_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
// The calling thread's CPU clock, readable from any thread.
inline clockid_t thread_clock() {
  clockid_t clock{};
  pthread_getcpuclockid(pthread_self(), &clock);
  return clock;
}

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// p in [0, 1]: the value below which that share of the samples lies. Sorts `ns` in place.
struct Percentiles {
  double p50_us = 0, p99_us = 0, p999_us = 0;
  static Percentiles of(std::vector<std::int64_t>& ns) {
    Percentiles p;
    if (ns.empty()) return p;
    std::sort(ns.begin(), ns.end());
    auto at = [&](double q) {
      auto i = static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1));
      return static_cast<double>(ns[i]) / 1000.0;
    };
    p.p50_us = at(0.50);
    p.p99_us = at(0.99);
    p.p999_us = at(0.999);
    return p;
  }
};

struct alignas(64) Counter {
  std::atomic<std::uint64_t> value{0};
};

}  // namespace evq::port::bench
