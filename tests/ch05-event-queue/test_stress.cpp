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
  REQUIRE_MESSAGE(wait_until([&] { return delivered.load() >= kTotal; }, 100s),
                  "delivered ", delivered.load(), " of ", kTotal);
  CHECK(port.close() == 0);
  for (auto& t : consumers) t.join();

  CHECK(delivered.load() == kTotal);
  CHECK(failed_io.load() == kTotal / 10);
  std::uint64_t wrong = 0;
  for (std::uint64_t k = 0; k < kTotal; ++k) wrong += seen[k].load() != 1;
  CHECK_MESSAGE(wrong == 0, wrong, " packets were not delivered exactly once");
}
// [/snippet test-stress]

TEST_CASE("close() in the middle of a flood: no packet is delivered twice, no thread hangs") {
  for (int round = 0; round < 20; ++round) {
    Port port(2);
    constexpr std::uint64_t kMax = 20'000;
    auto seen = std::make_unique<std::atomic<std::uint8_t>[]>(kMax);
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i)
      threads.emplace_back([&] {
        for (;;) {
          evq::port::GetResult r = port.get(10s);
          if (r.status != Wait::packet) return;
          seen[r.packet.key].fetch_add(1);
        }
      });
    std::thread producer([&] {
      for (std::uint64_t k = 0; k < kMax; ++k)
        if (!port.post(k)) return;  // closed under our feet: fine, stop
    });
    port.close();
    producer.join();
    for (auto& t : threads) t.join();
    for (std::uint64_t k = 0; k < kMax; ++k) REQUIRE(seen[k].load() <= 1);
  }
}
