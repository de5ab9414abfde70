// The thread rules of reference/002 ("I/O Completion Ports", Threads and Concurrency):
//   - waiting threads are released LIFO: the most recent waiter gets the next packet;
//   - the concurrency value caps how many threads associated with the port run at once.
// Wine 8 honours neither (it releases waiters FIFO and applies no cap). Each test asserts the
// documented behaviour on Windows and, on Wine, prints so and asserts what Wine does instead.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "evq/iocp/completion_port.hpp"
#include "evq/test/support.hpp"
#include "host.hpp"

using namespace std::chrono_literals;
using evq::iocp::CompletionPort;
using evq::iocp::GetStatus;

namespace {

// Starts one thread that parks in get() and, on its packet, records its id and exits. Returns only
// when the thread is about to call get(), plus a grace period: no API reports "parked in GQCS".
// A thread that was slower than the grace period would only make the order look different, and
// the failure message prints the order seen, so a reader can tell noise from a real difference.
void start_waiter(const CompletionPort& port, int id, std::vector<std::thread>& threads,
                  std::mutex& mutex, std::vector<int>& order) {
  std::atomic<bool> entering{false};
  threads.emplace_back([&port, id, &mutex, &order, &entering] {
    entering = true;
    evq::iocp::GetResult r = port.get(evq::test::kDeadline);
    if (r.status != GetStatus::completed) return;
    std::lock_guard lock(mutex);
    order.push_back(id);
  });
  REQUIRE(evq::test::wait_until([&] { return entering.load(); }));
  std::this_thread::sleep_for(150ms);
}

std::string to_text(const std::vector<int>& ids) {
  std::string text;
  for (int id : ids) text += (text.empty() ? "" : ", ") + std::string(1, static_cast<char>('A' + id));
  return "[" + text + "]";
}

}  // namespace

TEST_CASE("waiting threads are released LIFO on Windows (Wine 8: FIFO)") {
  // A concurrency value above the thread count, so the cap plays no part here.
  CompletionPort port(8);
  std::mutex mutex;
  std::vector<int> order;
  std::vector<std::thread> threads;
  constexpr int kWaiters = 3;
  for (int id = 0; id < kWaiters; ++id) start_waiter(port, id, threads, mutex, order);  // A, B, C park in turn

  // One packet at a time: each goes to whichever thread the port releases, which then exits.
  for (std::size_t n = 1; n <= kWaiters; ++n) {
    port.post(100 + n);
    bool taken = evq::test::wait_until([&] {
      std::lock_guard lock(mutex);
      return order.size() == n;
    });
    CHECK_MESSAGE(taken, "packet ", n, " was not taken by any waiter");
  }
  for (auto& t : threads) t.join();

  std::string seen = to_text(order);
  if (evq::iocp::test::on_wine()) {
    MESSAGE("host: ", evq::iocp::test::host_name(), ": release order ", seen,
            " (the documented LIFO order would be [C, B, A])");
    CHECK_MESSAGE((order == std::vector<int>{0, 1, 2}), "Wine 8 was measured to release FIFO; saw ", seen);
  } else {
    MESSAGE("host: ", evq::iocp::test::host_name(), ": release order ", seen);
    CHECK_MESSAGE((order == std::vector<int>{2, 1, 0}), "the most recent waiter should go first; saw ", seen);
  }
}

TEST_CASE("the concurrency value caps the running threads on Windows (Wine 8: no cap)") {
  CompletionPort port(1);  // at most one running thread
  std::atomic<int> running{0};
  std::atomic<int> most_running{0};
  std::atomic<int> handled{0};
  std::atomic<int> parked{0};
  constexpr int kThreads = 2;

  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      ++parked;
      evq::iocp::GetResult r = port.get(evq::test::kDeadline);
      if (r.status != GetStatus::completed) return;
      int now = ++running;
      int seen = most_running.load();
      while (now > seen && !most_running.compare_exchange_weak(seen, now)) {}
      // Stay runnable (spin, never block: a blocked thread would let the port release another one)
      // until a second thread is seen running too, or long enough that it would have been.
      auto until = std::chrono::steady_clock::now() + 500ms;
      while (running.load() < kThreads && std::chrono::steady_clock::now() < until) {}
      --running;
      ++handled;
    });
  }
  REQUIRE(evq::test::wait_until([&] { return parked.load() == kThreads; }));
  std::this_thread::sleep_for(150ms);  // let both park in GetQueuedCompletionStatus (no API tells us)
  port.post(1);
  port.post(2);
  CHECK(evq::test::wait_until([&] { return handled.load() == kThreads; }));
  for (auto& t : threads) t.join();

  int peak = most_running.load();
  if (evq::iocp::test::on_wine()) {
    MESSAGE("host: ", evq::iocp::test::host_name(), ": with concurrency 1, ", peak,
            " threads ran at once (Windows caps this at 1)");
    CHECK_MESSAGE(peak == kThreads, "Wine 8 was measured to apply no cap; saw a peak of ", peak);
  } else {
    MESSAGE("host: ", evq::iocp::test::host_name(), ": with concurrency 1, peak running threads ", peak);
    CHECK_MESSAGE(peak == 1, "a second thread ran while the first was still running: peak ", peak);
  }
}
