// --mode saturated: one producer posts as fast as it can, a pool of consumers (2 x CPUs) does
// nothing but count. Throughput, and context switches per packet: where LIFO and the cap pay.
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "measure.hpp"

namespace evq::port::bench {

struct SaturatedSample {
  double seconds = 0, mpps = 0, vcsw_per_packet = 0, ivcsw_per_packet = 0;
};

// One run: `threads` consumers each run `consume(their counter)` until `close()`; this thread
// calls `post(k)` for every packet. Returns false if the packets were not all taken within `limit`.
template <typename Consume, typename Post, typename Close>
bool measure_saturated(SaturatedSample& s, std::uint64_t packets, unsigned threads,
                       std::chrono::seconds limit, Consume consume, Post post, Close close) {
  std::vector<Counter> counters(threads);
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) pool.emplace_back([&, i] { consume(counters[i]); });
  auto taken = [&] {
    std::uint64_t sum = 0;
    for (const Counter& c : counters) sum += c.value.load(std::memory_order_relaxed);
    return sum;
  };
  auto stop = [&] {
    close();
    for (auto& t : pool) t.join();
  };
  const Switches before = Switches::now();
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t k = 0; k < packets; ++k) post(k);
  while (taken() < packets) {
    if (std::chrono::steady_clock::now() > t0 + limit) {
      stop();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const auto t1 = std::chrono::steady_clock::now();
  const Switches used = Switches::now() - before;
  stop();
  s.seconds = std::chrono::duration<double>(t1 - t0).count();
  s.mpps = static_cast<double>(packets) / s.seconds / 1e6;
  s.vcsw_per_packet = static_cast<double>(used.voluntary) / static_cast<double>(packets);
  s.ivcsw_per_packet = static_cast<double>(used.involuntary) / static_cast<double>(packets);
  return true;
}

// [snippet bench-port]
template <typename Queue>
bool saturated(SaturatedSample& s, std::uint64_t packets, unsigned threads, unsigned concurrency,
               std::chrono::seconds limit) {
  Queue queue(concurrency);
  return measure_saturated(
      s, packets, threads, limit,
      [&](Counter& handled) {
        std::uint64_t v;
        while (queue.pop(v)) handled.value.fetch_add(1, std::memory_order_relaxed);
      },
      [&](std::uint64_t k) { queue.push(k); }, [&] { queue.close(threads); });
}
// [/snippet bench-port]

}  // namespace evq::port::bench
