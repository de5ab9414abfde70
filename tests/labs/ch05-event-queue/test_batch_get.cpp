// Lab "batch get": GetQueuedCompletionStatusEx on top of get().
#include <atomic>
#include <optional>
#include <span>
#include <string>
#include <stdexcept>
#include <thread>
#include <vector>

#include "evq/common/joining_thread.hpp"
#include "evq/port/lab/batch_get.hpp"
#include "evq/test/support.hpp"

using namespace std::chrono_literals;
using evq::port::Packet;
using evq::port::Port;
using evq::port::Wait;
using evq::port::lab::batch_get;
using evq::test::kDeadline;
using evq::test::wait_until;

namespace {

// Runs batch_get(port, out, kForever) on a thread of its own and waits up to kDeadline for it to
// return. A batch_get that waits for the batch to fill (a follow-up get() with the caller's
// timeout instead of a zero one) never returns by itself here: then the port is closed to release
// it, and the result is nullopt. A thread is never left running past the test.
std::optional<Port::ManyResult> batch_get_or_release(Port& port, std::span<Packet> out) {
  std::atomic<bool> done{false};
  Port::ManyResult result;
  std::string threw;
  evq::JoiningThread t([&] {
    try {
      result = batch_get(port, out, evq::port::kForever);
    } catch (const std::exception& e) {
      threw = e.what();
    }
    done = true;
  });
  bool returned = wait_until([&] { return done.load(); });
  if (!returned) port.close();
  t.join();
  if (!threw.empty()) FAIL("batch_get threw: " << threw);
  if (!returned) return std::nullopt;
  return result;
}

}  // namespace

TEST_CASE("batch_get returns as soon as the first packet arrives, without waiting to fill up [2 pts]") {
  Port port(2);
  std::vector<Packet> out(16);
  std::atomic<bool> finished{false};
  evq::JoiningThread poster([&] {
    // Post once batch_get is parked in get(), so the packet is a wake-up, not already there.
    wait_until([&] { return port.counters().waiting == 1 || finished.load(); });
    port.post(7);
  });
  std::optional<Port::ManyResult> result = batch_get_or_release(port, out);
  finished = true;
  poster.join();
  REQUIRE_MESSAGE(
      result.has_value(),
      "batch_get got a packet but did not return within 10 s: after the first packet, take only what "
      "is already queued (get with a 0 ms timeout), never wait for the batch to fill");
  CHECK(result->status == Wait::packet);
  CHECK(result->count == 1);
  CHECK(out[0].key == 7);
}

TEST_CASE("batch_get takes the packets already queued, oldest first, up to the room it has [2 pts]") {
  Port port(1);
  for (std::uint64_t k = 1; k <= 10; ++k) port.post(k);
  std::vector<Packet> out(4);
  std::optional<Port::ManyResult> r = batch_get_or_release(port, out);
  REQUIRE_MESSAGE(r.has_value(),
                  "batch_get with 10 packets queued and room for 4 did not return within 10 s");
  REQUIRE(r->status == Wait::packet);
  REQUIRE(r->count == 4);
  for (std::uint64_t i = 0; i < 4; ++i) CHECK(out[i].key == i + 1);
  // 6 are left and there is room for 16: batch_get takes the 6 and returns, it does not wait for more.
  std::vector<Packet> rest(16);
  r = batch_get_or_release(port, rest);
  REQUIRE_MESSAGE(r.has_value(),
                  "with 6 packets queued and room for 16, batch_get must return the 6 at once, "
                  "not wait for the batch to fill");
  REQUIRE(r->status == Wait::packet);
  REQUIRE(r->count == 6);
  for (std::uint64_t i = 0; i < 6; ++i) CHECK(rest[i].key == i + 5);
}

TEST_CASE("batch_get reports a timeout and a closed port with no packets [1 pt]") {
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

TEST_CASE("batch_get refuses an empty batch [1 pt]") {
  Port port(1);
  port.post(1);
  std::vector<Packet> none;
  CHECK_THROWS_AS(batch_get(port, none, 0ms), std::invalid_argument);
  CHECK(port.counters().queued == 1);  // and took nothing
}
