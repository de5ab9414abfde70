// What both load generators (load.cpp over epoll, load_uring.cpp over io_uring) measure the same
// way: round-trip latencies and their percentiles, and a thread's CPU clock.
#pragma once

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "load.hpp"

namespace evq::completion::bench {

class LatencySamples {
 public:
  LatencySamples() { ns_.reserve(1 << 20); }
  void add(std::chrono::steady_clock::duration d) {
    ns_.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  }
  void fill(LoadResult& r) {
    r.p50_us = percentile_us(0.50);
    r.p99_us = percentile_us(0.99);
    r.p999_us = percentile_us(0.999);
  }

 private:
  double percentile_us(double q) {
    if (ns_.empty()) return 0;
    auto i = static_cast<std::size_t>(q * static_cast<double>(ns_.size() - 1));
    std::nth_element(ns_.begin(), ns_.begin() + static_cast<std::ptrdiff_t>(i), ns_.end());
    return static_cast<double>(ns_[i]) / 1000.0;
  }
  std::vector<std::int64_t> ns_;
};

// Seconds of CPU on `clock` (a thread's, from pthread_getcpuclockid), or -1 if it cannot be read.
inline double thread_cpu_seconds(clockid_t clock) {
  timespec ts{};
  if (::clock_gettime(clock, &ts) < 0) return -1;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Fills what the load measured from the CPU samples at both ends of its window.
inline void fill_cpu(LoadResult& r, const CpuMeter::Sample& a, const CpuMeter::Sample& b) {
  auto diff = [](double x, double y) { return x >= 0 && y >= 0 ? y - x : -1; };
  r.server_cpu_seconds = diff(a.server, b.server);
  // The ticks are coarse (10 ms), so they give the kernel's share; the CPU clock gives the total.
  const double ticks = diff(a.ticks_total, b.ticks_total), system = diff(a.ticks_system, b.ticks_system);
  r.server_system_seconds =
      ticks > 0 && system >= 0 && r.server_cpu_seconds >= 0 ? r.server_cpu_seconds * system / ticks : -1;
  r.load_cpu_seconds = diff(a.load, b.load);
}

}  // namespace evq::completion::bench
