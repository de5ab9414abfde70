// The thread rules of reference/002 ("I/O Completion Ports", Threads and Concurrency):
//   - waiting threads are released LIFO: the most recent waiter gets the next packet;
//   - the concurrency value caps how many threads associated with the port run at once.
// Wine 8 honours neither (it releases waiters FIFO and applies no cap). Each test asserts the
// documented behaviour on Windows and, on Wine, prints so and asserts what Wine does instead.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "evq/iocp/thread_probe.hpp"
#include "host.hpp"

using namespace std::chrono_literals;

namespace {
std::string to_text(const std::vector<int>& ids) {
  std::string text;
  for (int id : ids) text += (text.empty() ? "" : ", ") + std::string(1, static_cast<char>('A' + id));
  return "[" + text + "]";
}
}  // namespace

TEST_CASE("waiting threads are released LIFO on Windows (Wine 8: FIFO)") {
  // A, B, C park in that order (150 ms apart: no API reports "parked", see thread_probe.hpp).
  std::vector<int> order = evq::iocp::probe_release_order(3, 150ms);
  std::string seen = to_text(order);
  REQUIRE_MESSAGE(order.size() == 3, "not every waiter got a packet: ", seen);
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
  constexpr int kThreads = 2;
  int peak = evq::iocp::probe_peak_running(1, kThreads, 150ms, 500ms);
  if (evq::iocp::test::on_wine()) {
    MESSAGE("host: ", evq::iocp::test::host_name(), ": with concurrency 1, ", peak,
            " threads ran at once (Windows caps this at 1)");
    CHECK_MESSAGE(peak == kThreads, "Wine 8 was measured to apply no cap; saw a peak of ", peak);
  } else {
    MESSAGE("host: ", evq::iocp::test::host_name(), ": with concurrency 1, peak running threads ", peak);
    CHECK_MESSAGE(peak == 1, "a second thread ran while the first was still running: peak ", peak);
  }
}

TEST_CASE("a concurrency value as large as the pool lets every thread run") {
  // The control experiment: the probe itself can see two threads running at once.
  int peak = evq::iocp::probe_peak_running(2, 2, 150ms, 2000ms);
  MESSAGE("host: ", evq::iocp::test::host_name(), ": with concurrency 2, peak running threads ", peak);
  CHECK(peak == 2);
}
