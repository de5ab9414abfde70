#include "evq/iocp/thread_probe.hpp"

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "evq/iocp/completion_port.hpp"

namespace evq::iocp {
namespace {

constexpr auto kDeadline = std::chrono::seconds(10);

// Polls until `condition` holds or the deadline passes.
template <typename Condition>
bool wait_for(Condition condition) {
  auto until = std::chrono::steady_clock::now() + kDeadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

// [snippet probe-release-order]
std::vector<int> probe_release_order(int waiters, std::chrono::milliseconds grace) {
  CompletionPort port(static_cast<DWORD>(waiters + 1));  // a cap above the thread count: no part here
  std::mutex mutex;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int id = 0; id < waiters; ++id) {
    std::atomic<bool> entering{false};
    threads.emplace_back([&, id] {
      entering = true;
      GetResult r = port.get(kDeadline);
      if (r.status != GetStatus::completed) return;
      std::lock_guard lock(mutex);
      order.push_back(id);
    });
    wait_for([&] { return entering.load(); });
    std::this_thread::sleep_for(grace);  // let thread `id` park before the next one comes
  }
  for (std::size_t n = 1; n <= static_cast<std::size_t>(waiters); ++n) {
    port.post(n);  // one packet; wait until some thread has taken it before posting the next
    wait_for([&] {
      std::lock_guard lock(mutex);
      return order.size() >= n;
    });
  }
  for (auto& t : threads) t.join();
  return order;
}
// [/snippet probe-release-order]

// [snippet probe-peak-running]
int probe_peak_running(DWORD concurrency, int threads, std::chrono::milliseconds grace,
                       std::chrono::milliseconds spin) {
  CompletionPort port(concurrency);
  std::atomic<int> parked{0}, running{0}, peak{0}, handled{0};
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&] {
      ++parked;
      GetResult r = port.get(kDeadline);
      if (r.status != GetStatus::completed) return;
      int now = ++running;
      for (int seen = peak.load(); now > seen && !peak.compare_exchange_weak(seen, now);) {
      }
      // Stay runnable: spinning, never blocking (a blocked thread lets the port release another).
      auto until = std::chrono::steady_clock::now() + spin;
      while (running.load() < threads && std::chrono::steady_clock::now() < until) {
      }
      --running;
      ++handled;
    });
  }
  wait_for([&] { return parked.load() == threads; });
  std::this_thread::sleep_for(grace);  // let them all park in GetQueuedCompletionStatus
  for (int i = 0; i < threads; ++i) port.post(static_cast<ULONG_PTR>(i));
  bool all = wait_for([&] { return handled.load() == threads; });
  for (auto& t : pool) t.join();
  if (!all) throw std::runtime_error("probe_peak_running: not every packet was handled before the deadline");
  return peak.load();
}
// [/snippet probe-peak-running]

}  // namespace evq::iocp
