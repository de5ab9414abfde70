// Lab "batch get": GetQueuedCompletionStatusEx on top of get().
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "evq/port/lab/batch_get.hpp"
#include "evq/test/support.hpp"

using namespace std::chrono_literals;
using evq::port::Packet;
using evq::port::Port;
using evq::port::Wait;
using evq::port::lab::batch_get;
using evq::test::kDeadline;
using evq::test::wait_until;

TEST_CASE("batch_get returns as soon as the first packet arrives, without waiting to fill up [2 pts]") {
  Port port(2);
  std::atomic<bool> done{false}, threw{false};
  Port::ManyResult result;
  std::vector<Packet> out(16);
  std::thread t([&] {
    try {
      result = batch_get(port, out, kDeadline);
    } catch (...) {
      threw = true;
    }
    done = true;
  });
  REQUIRE(wait_until([&] { return port.counters().waiting == 1 || done.load(); }));
  REQUIRE_FALSE_MESSAGE(threw.load(), "batch_get threw");
  port.post(7);
  REQUIRE_MESSAGE(wait_until([&] { return done.load(); }), "batch_get should return with one packet");
  t.join();
  CHECK(result.status == Wait::packet);
  CHECK(result.count == 1);
  CHECK(out[0].key == 7);
}

TEST_CASE("batch_get takes the packets already queued, oldest first, up to the room it has [2 pts]") {
  Port port(1);
  for (std::uint64_t k = 1; k <= 10; ++k) port.post(k);
  std::vector<Packet> out(4);
  Port::ManyResult r = batch_get(port, out, kDeadline);
  REQUIRE(r.status == Wait::packet);
  REQUIRE(r.count == 4);
  for (std::uint64_t i = 0; i < 4; ++i) CHECK(out[i].key == i + 1);
  std::vector<Packet> rest(16);
  r = batch_get(port, rest, kDeadline);
  REQUIRE(r.count == 6);
  for (std::uint64_t i = 0; i < 6; ++i) CHECK(rest[i].key == i + 5);
}

TEST_CASE("batch_get reports a timeout and a closed port with no packets [1 pts]") {
  Port port(1);
  std::vector<Packet> out(4);
  Port::ManyResult r = batch_get(port, out, 10ms);
  CHECK(r.status == Wait::timeout);
  CHECK(r.count == 0);
  port.close();
  r = batch_get(port, out, kDeadline);
  CHECK(r.status == Wait::closed);
  CHECK(r.count == 0);
}

TEST_CASE("batch_get refuses an empty batch [1 pts]") {
  Port port(1);
  port.post(1);
  std::vector<Packet> none;
  CHECK_THROWS_AS(batch_get(port, none, 0ms), std::invalid_argument);
  CHECK(port.counters().queued == 1);  // and took nothing
}
