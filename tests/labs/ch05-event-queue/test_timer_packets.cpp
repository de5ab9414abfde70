// Lab "timer packets": timers delivered as completion packets.
#include <atomic>
#include <thread>
#include <vector>

#include "evq/port/lab/timer_packets.hpp"
#include "evq/test/support.hpp"

using namespace std::chrono_literals;
using evq::port::Port;
using evq::port::Wait;
using evq::port::lab::TimerPackets;
using evq::test::kDeadline;

TEST_CASE("a timer arrives as a packet with its key and user value [2 pts]") {
  Port port(1);
  TimerPackets timers(port);
  std::uint64_t id = timers.schedule(5ms, 42, 7);
  CHECK(id != 0);
  evq::port::GetResult r = port.get(kDeadline);
  REQUIRE(r.got());
  CHECK(r.packet.key == 42);
  CHECK(r.packet.user == 7);
  CHECK_FALSE(r.packet.failed());
  CHECK(timers.pending() == 0);
  CHECK(port.get(20ms).status == Wait::timeout);  // exactly once
}

TEST_CASE("timers fire in deadline order, not in the order they were scheduled [2 pts]") {
  Port port(1);
  TimerPackets timers(port);
  // Deadlines far apart: only a stall of more than 190 ms between these calls could reorder them.
  timers.schedule(400ms, 3);
  timers.schedule(10ms, 1);
  timers.schedule(200ms, 2);
  CHECK(timers.pending() == 3);
  for (std::uint64_t expected = 1; expected <= 3; ++expected) {
    evq::port::GetResult r = port.get(kDeadline);
    REQUIRE(r.got());
    CHECK_MESSAGE(r.packet.key == expected, "timer ", expected, " should fire next, got ", r.packet.key);
  }
}

TEST_CASE("a cancelled timer never fires, and cancel says whether it stopped one [2 pts]") {
  Port port(1);
  TimerPackets timers(port);
  // The timers fire on their own thread, so the cancel races the deadline: 250 ms leaves room for
  // a descheduled test thread on a busy machine; a cancel that does nothing still fires it first.
  std::uint64_t doomed = timers.schedule(250ms, 1);
  std::uint64_t kept = timers.schedule(500ms, 2);
  CHECK(timers.cancel(doomed));
  CHECK_FALSE(timers.cancel(doomed));  // already cancelled
  CHECK_FALSE(timers.cancel(987654));  // never existed
  CHECK(timers.pending() == 1);
  evq::port::GetResult r = port.get(kDeadline);
  REQUIRE(r.got());
  CHECK(r.packet.key == 2);
  CHECK_FALSE(timers.cancel(kept));  // fired already
  CHECK(port.get(50ms).status == Wait::timeout);
}

TEST_CASE("destroying the timers returns promptly and nothing fires afterwards [1 pt]") {
  Port port(1);
  {
    TimerPackets timers(port);
    timers.schedule(std::chrono::hours(1), 1);  // must not be waited for
    timers.schedule(30ms, 2);
  }
  CHECK(port.get(80ms).status == Wait::timeout);
  CHECK(port.counters().queued == 0);
}

TEST_CASE("timers scheduled from many threads each fire once, into a pool of waiters [1 pt]") {
  Port port(2);
  TimerPackets timers(port);
  std::atomic<int> got{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i)
    waiters.emplace_back([&] {
      while (port.get(kDeadline).got()) ++got;
    });
  std::vector<std::thread> schedulers;
  for (int t = 0; t < 4; ++t)
    schedulers.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i)
        timers.schedule(std::chrono::milliseconds(i % 7), static_cast<std::uint64_t>(t * 100 + i));
    });
  for (auto& s : schedulers) s.join();
  CHECK(evq::test::wait_until([&] { return got.load() == 100; }));
  port.close();
  for (auto& w : waiters) w.join();
  CHECK(got.load() == 100);
}
