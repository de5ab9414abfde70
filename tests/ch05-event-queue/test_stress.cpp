// Stress: several producers and consumers, a million packets, failed I/O completions mixed in.
// Every packet must be delivered exactly once; ThreadSanitizer (.ci/run, the tsan build) must
// find no race.
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "evq/port/port.hpp"
#include "evq/test/support.hpp"

using namespace std::chrono_literals;
using evq::port::Packet;
using evq::port::Port;
using evq::port::Wait;
using evq::test::wait_until;

// [snippet test-stress]
TEST_CASE("a million packets from 4 producers reach 4 consumers exactly once, none lost") {
  constexpr std::uint64_t kProducers = 4, kPerProducer = 250'000, kTotal = kProducers * kPerProducer;
  Port port(2);
  auto seen = std::make_unique<std::atomic<std::uint8_t>[]>(kTotal);
  std::atomic<std::uint64_t> delivered{0}, failed_io{0};

  auto consume = [&](const Packet& p) {
    REQUIRE(p.key < kTotal);
    seen[p.key].fetch_add(1, std::memory_order_relaxed);
    if (p.failed()) failed_io.fetch_add(1, std::memory_order_relaxed);
    delivered.fetch_add(1, std::memory_order_relaxed);
  };
  std::vector<std::thread> consumers;
  for (int i = 0; i < 4; ++i) {
    consumers.emplace_back([&, i] {
      if (i % 2 == 0) {  // two take one packet at a time...
        for (;;) {
          evq::port::GetResult r = port.get(10s);
          if (r.status == Wait::closed) return;
          if (r.got()) consume(r.packet);
        }
      }
      Packet batch[32];  // ...and two take up to 32 at once
      for (;;) {
        Port::ManyResult r = port.get_many(batch, 10s);
        if (r.status == Wait::closed) return;
        for (std::size_t k = 0; k < r.count; ++k) consume(batch[k]);
      }
    });
  }
  std::vector<std::thread> producers;
  for (std::uint64_t p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (std::uint64_t i = 0; i < kPerProducer; ++i) {
        Packet packet;
        packet.key = p * kPerProducer + i;
        if (i % 10 == 0) {  // every tenth one is an I/O completion that failed
          packet.bytes = 0;
          packet.error = std::make_error_code(std::errc::connection_reset);
        }
        REQUIRE(port.post(packet));
      }
    });
  }
  for (auto& t : producers) t.join();
  REQUIRE_MESSAGE(wait_until([&] { return delivered.load() >= kTotal; }, 100s), "delivered ",
                  delivered.load(), " of ", kTotal);
  CHECK(port.close() == 0);
  for (auto& t : consumers) t.join();

  CHECK(delivered.load() == kTotal);
  CHECK(failed_io.load() == kTotal / 10);
  std::uint64_t wrong = 0;
  for (std::uint64_t k = 0; k < kTotal; ++k) wrong += seen[k].load() != 1;
  CHECK_MESSAGE(wrong == 0, wrong, " packets were not delivered exactly once");
}
// [/snippet test-stress]

TEST_CASE("close() in the middle of a flood: each accepted packet is delivered once or dropped") {
  for (int round = 0; round < 20; ++round) {
    Port port(2);
    constexpr std::uint64_t kMax = 20'000;
    auto seen = std::make_unique<std::atomic<std::uint8_t>[]>(kMax);
    std::atomic<std::uint64_t> delivered{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i)
      threads.emplace_back([&] {
        for (;;) {
          evq::port::GetResult r = port.get(10s);
          if (r.status != Wait::packet) return;
          seen[r.packet.key].fetch_add(1);
          delivered.fetch_add(1);
        }
      });
    std::uint64_t accepted = 0;
    std::thread producer([&] {
      for (std::uint64_t k = 0; k < kMax; ++k, ++accepted)
        if (!port.post(k)) return;  // closed under our feet: fine, stop
    });
    std::size_t dropped = port.close();
    producer.join();
    for (auto& t : threads) t.join();
    for (std::uint64_t k = 0; k < kMax; ++k) REQUIRE(seen[k].load() <= 1);
    // A post() that returned true was either delivered or counted by close(): none is lost.
    REQUIRE_MESSAGE(delivered.load() + dropped == accepted, "round ", round, ": ", accepted,
                    " posts accepted, ", delivered.load(), " delivered + ", dropped, " dropped by close()");
  }
}

// [snippet test-lost-wakeup]
// post() skips the port's lock unless a release is possible (src/core.hpp, settle_locked). This
// is the race that shortcut must not lose: a thread parks in the very moment a packet is posted.
// Each round posts one packet and waits for it to be taken, so every get() parks and races the
// next post(). A lost wake-up leaves the packet queued and the get() waiting out its deadline.
TEST_CASE("a post() racing a thread that parks is never lost (ping-pong, thousands of rounds)") {
  for (unsigned concurrency : {1u, 2u}) {
    CAPTURE(concurrency);
    constexpr std::uint64_t kRounds = 5'000;
    Port port(concurrency);
    std::atomic<std::uint64_t> taken{0}, lost{0};
    std::vector<std::thread> consumers;
    for (int i = 0; i < 2; ++i)
      consumers.emplace_back([&] {
        for (;;) {
          evq::port::GetResult r = port.get(10s);
          if (r.status == Wait::closed) return;
          if (r.status == Wait::timeout) {  // ten seconds with a packet queued and nobody woken
            lost.fetch_add(1);
            return;
          }
          taken.fetch_add(1);
        }
      });
    for (std::uint64_t k = 0; k < kRounds && lost.load() == 0; ++k) {
      REQUIRE(port.post(k));
      auto deadline = std::chrono::steady_clock::now() + 20s;
      while (taken.load() <= k && lost.load() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();  // no sleep here: the next post() must race the next park
    }
    port.close();
    for (auto& t : consumers) t.join();
    CHECK_MESSAGE(lost.load() == 0,
                  "a get() waited 10 s while a posted packet sat in the port: "
                  "a lost wake-up (",
                  taken.load(), " of ", kRounds, " taken)");
    CHECK(taken.load() == kRounds);
  }
}
// [/snippet test-lost-wakeup]
