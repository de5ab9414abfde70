// --mode pingpong: the shape of a lightly loaded server. A client thread pushes one value into
// queue A and waits for it to come back on queue B; a server thread takes it from A and pushes it
// into B. One value in flight, so every round trip is two hand-offs between threads, and a queue
// whose waiter sleeps pays two wake-ups per round trip. (For the port: two ports of concurrency 1.)
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "measure.hpp"

namespace evq::port::bench {

struct PingPongSample {
  double seconds = 0, round_trips_per_s = 0, vcsw_per_round_trip = 0;
  Percentiles rtt;
};

template <typename Queue>
bool pingpong(PingPongSample& s, std::uint64_t rounds, std::chrono::seconds limit) {
  Queue there(1), back(1);
  std::thread server([&] {
    std::uint64_t v;
    while (there.pop(v)) back.push(v);
  });
  constexpr std::uint64_t kWarmUp = 1000;  // first wakes, page faults, the spin budget settling
  std::vector<std::int64_t> rtt;
  rtt.reserve(rounds);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  bool in_time = true;
  Switches before{};
  std::chrono::steady_clock::time_point t0{};
  for (std::uint64_t k = 0; k < kWarmUp + rounds; ++k) {
    if (k == kWarmUp) {
      before = Switches::now();
      t0 = std::chrono::steady_clock::now();
    }
    const std::int64_t sent = now_ns();
    there.push(k);
    std::uint64_t v = 0;
    if (!back.pop(v) || v != k) {
      in_time = false;
      break;
    }
    if (k >= kWarmUp) rtt.push_back(now_ns() - sent);
    if (k % 1024 == 0 && std::chrono::steady_clock::now() > deadline) {
      in_time = false;
      break;
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  const Switches used = Switches::now() - before;
  there.close(1);
  server.join();
  if (!in_time) return false;
  s.seconds = std::chrono::duration<double>(t1 - t0).count();
  s.round_trips_per_s = static_cast<double>(rounds) / s.seconds;
  s.vcsw_per_round_trip = static_cast<double>(used.voluntary) / static_cast<double>(rounds);
  s.rtt = Percentiles::of(rtt);
  return true;
}

}  // namespace evq::port::bench
