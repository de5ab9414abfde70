// --mode burst: a server that is mostly idle. The producer posts a burst of 1 to 64 packets, waits
// until the consumers (2 x CPUs) have taken them, then stays quiet for a gap long enough that every
// consumer parks. Each packet carries the time it was posted; the consumer that gets it records how
// long it took. Then the queue sits idle with all consumers parked, and each consumer's own CPU
// time over that idle stretch says what parking costs: a spinner burns it, a sleeper does not.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "measure.hpp"

namespace evq::port::bench {

struct BurstSample {
  double seconds = 0;
  std::uint64_t packets = 0;
  Percentiles post_to_get;
  double idle_cpu_ms_max = 0;  // the most CPU any parked consumer used over the idle stretch
};

template <typename Queue>
bool burst(BurstSample& s, unsigned bursts, std::chrono::microseconds gap, unsigned threads,
           unsigned concurrency, std::chrono::milliseconds idle, std::chrono::seconds limit) {
  Queue queue(concurrency);
  std::atomic<std::uint64_t> taken{0};
  std::vector<clockid_t> clocks(threads);
  std::atomic<unsigned> started{0};
  std::mutex merge;
  std::vector<std::int64_t> all;
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      clocks[i] = thread_clock();
      ++started;
      std::vector<std::int64_t> mine;
      std::uint64_t posted_at;
      while (queue.pop(posted_at)) {
        mine.push_back(now_ns() - static_cast<std::int64_t>(posted_at));
        taken.fetch_add(1, std::memory_order_release);
      }
      std::lock_guard lock(merge);
      all.insert(all.end(), mine.begin(), mine.end());
    });
  while (started.load() < threads) std::this_thread::yield();

  const auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + limit;
  bool in_time = true;
  std::uint64_t posted = 0;
  for (unsigned b = 0; b < bursts && in_time; ++b) {
    std::this_thread::sleep_for(gap);     // long enough for every consumer to park
    const unsigned size = 1u << (b % 7);  // 1, 2, 4, ... 64
    for (unsigned p = 0; p < size; ++p) queue.push(static_cast<std::uint64_t>(now_ns()));
    posted += size;
    while (taken.load(std::memory_order_acquire) < posted) {
      if (std::chrono::steady_clock::now() > deadline) {
        in_time = false;
        break;
      }
      std::this_thread::yield();  // the consumers may need this CPU
    }
  }
  const auto t1 = std::chrono::steady_clock::now();

  // The idle stretch: nothing is posted; every consumer should be asleep.
  std::this_thread::sleep_for(gap);
  std::vector<std::int64_t> cpu0(threads);
  for (unsigned i = 0; i < threads; ++i) cpu0[i] = cpu_ns(clocks[i]);
  std::this_thread::sleep_for(idle);
  double worst = 0;
  for (unsigned i = 0; i < threads; ++i)
    worst = std::max(worst, static_cast<double>(cpu_ns(clocks[i]) - cpu0[i]) / 1e6);

  queue.close(threads);
  for (auto& t : pool) t.join();
  if (!in_time) return false;
  s.seconds = std::chrono::duration<double>(t1 - t0).count();
  s.packets = posted;
  s.post_to_get = Percentiles::of(all);
  s.idle_cpu_ms_max = worst;
  return true;
}

}  // namespace evq::port::bench
