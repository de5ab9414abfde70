// The thread pool: 2 x concurrency threads on a port, stopped by closing it.
#include <atomic>
#include <stdexcept>

#include "evq/port/blocking_scope.hpp"
#include "evq/port/thread_pool.hpp"
#include "evq/test/support.hpp"

using evq::port::Packet;
using evq::port::Port;
using evq::port::ThreadPool;
using evq::test::wait_until;

TEST_CASE("the pool follows the rule of thumb: twice as many threads as the concurrency value") {
  CHECK(evq::port::pool_size_for(2) == 4);
  CHECK(evq::port::pool_size_for(0) == 2 * evq::port::cpu_count());
  Port port(3);
  ThreadPool pool(port, [](const Packet&) {});
  CHECK(pool.size() == 6);
}

TEST_CASE("the pool handles every posted packet, then stops when asked") {
  Port port(2);
  std::atomic<std::uint64_t> sum{0};
  ThreadPool pool(port, [&](const Packet& p) { sum += p.key; });
  for (std::uint64_t k = 1; k <= 1000; ++k) REQUIRE(port.post(k));
  REQUIRE(wait_until([&] { return pool.handled() == 1000; }));
  CHECK(sum.load() == 1000 * 1001 / 2);
  pool.stop();
  CHECK(port.closed());
}

TEST_CASE("a pool worker that blocks elsewhere is replaced by a waiting one") {
  Port port(1);
  std::atomic<bool> unblock{false};
  std::atomic<int> done{0};
  ThreadPool pool(
      port,
      [&](const Packet& p) {
        if (p.key == 1) {
          evq::port::BlockingScope blocking;
          wait_until([&] { return unblock.load(); });
        }
        ++done;
      },
      2);
  REQUIRE(wait_until([&] { return port.counters().waiting == 2; }));
  port.post(1);
  REQUIRE(wait_until([&] { return port.counters().running == 0 && port.counters().waiting == 1; }));
  port.post(2);  // the blocked worker does not count: the other worker takes this one
  CHECK(wait_until([&] { return done.load() == 1; }));
  unblock = true;
  REQUIRE(wait_until([&] { return done.load() == 2; }));
}

TEST_CASE("a handler's exception stops its worker and comes back from stop()") {
  Port port(1);
  ThreadPool pool(
      port,
      [](const Packet& p) {
        if (p.key == 13) throw std::runtime_error("bad packet 13");
      },
      2);
  REQUIRE(wait_until([&] { return port.counters().waiting == 2; }));
  port.post(13);
  REQUIRE(wait_until([&] { return port.counters().running == 0 && port.counters().waiting == 1; }));
  CHECK_THROWS_WITH_AS(pool.stop(), "bad packet 13", std::runtime_error);
}
