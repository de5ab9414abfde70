// Lab ch01/write_queue: one WSASend in flight per connection, the rest queued in order.
#include <doctest/doctest.h>

#include <chrono>
#include <ostream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "evq/iocp/lab/write_queue.hpp"
#include "evq/test/support.hpp"

using namespace std::chrono_literals;
using evq::iocp::CompletionPort;
using evq::iocp::GetResult;
using evq::iocp::GetStatus;
using evq::iocp::lab::WriteQueue;

namespace {

constexpr ULONG_PTR kKey = 3;

// A connected pair whose server end is associated with a port: the queue writes on the server end.
struct Fixture {
  evq::WsaSession session;
  CompletionPort port{0};
  evq::SocketPair pair = evq::socket_pair();
  Fixture() {
    port.associate(pair.server.get(), kKey);
    evq::set_receive_timeout(pair.client.get(), 10'000);
  }
};

// Passes the queue's packets to it until nothing is queued; false if a packet does not come in time.
bool pump(CompletionPort& port, WriteQueue& queue) {
  auto deadline = std::chrono::steady_clock::now() + evq::test::kDeadline;
  while (queue.queued() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    GetResult r = port.get(evq::test::kDeadline);
    if (!r.has_packet()) return false;
    queue.on_completion(r);
  }
  return true;
}

}  // namespace

TEST_CASE("a single write arrives whole [1 pt]") {
  Fixture f;
  WriteQueue queue(f.pair.server.get());
  queue.write("hello, queue");
  CHECK(pump(f.port, queue));
  CHECK(evq::recv_exact(f.pair.client.get(), 12) == "hello, queue");
}

TEST_CASE("writes made while a send is in flight arrive in order [3 pts]") {
  Fixture f;
  WriteQueue queue(f.pair.server.get());
  std::string expected;
  for (int i = 0; i < 2000; ++i) {  // short strings: their bytes live inside the string objects
    std::string line = "line " + std::to_string(i) + "\n";
    expected += line;
    queue.write(line);
  }
  std::string received;
  std::thread reader([&] { received = evq::recv_exact(f.pair.client.get(), expected.size()); });
  bool drained = pump(f.port, queue);
  reader.join();
  CHECK(drained);
  CHECK(received.size() == expected.size());
  CHECK_MESSAGE(received == expected, "the bytes arrived out of order, or from memory that moved");
}

TEST_CASE("only one WSASend is in flight at a time [2 pts]") {
  Fixture f;
  WriteQueue queue(f.pair.server.get());
  queue.write("one");
  queue.write("two");
  queue.write("three");
  CHECK(queue.sending());
  GetResult first = f.port.get(evq::test::kDeadline);
  REQUIRE(first.has_packet());
  CHECK(first.packet.overlapped == queue.overlapped());
  // Until we hand that packet back, no other send may have been started.
  GetResult second = f.port.get(300ms);
  CHECK_MESSAGE(second.status == GetStatus::timed_out, "a second WSASend was in flight at the same time");
  if (second.has_packet()) return;  // already failed; do not feed a bad state on
  queue.on_completion(first);
  CHECK(pump(f.port, queue));
  CHECK(evq::recv_exact(f.pair.client.get(), 11) == "onetwothree");
}

TEST_CASE("4 MiB written at once is delivered whole [2 pts]") {
  Fixture f;
  WriteQueue queue(f.pair.server.get());
  std::string big(4 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 31 + i / 1000) & 0xFF);
  queue.write(big);
  queue.write("end");
  std::string received;
  std::thread reader([&] { received = evq::recv_exact(f.pair.client.get(), big.size() + 3); });
  bool drained = pump(f.port, queue);
  reader.join();
  CHECK(drained);
  CHECK(received.size() == big.size() + 3);
  CHECK((received == big + "end"));
}

TEST_CASE("queued() and sending() follow the bytes until the last completion [1 pt]") {
  Fixture f;
  WriteQueue queue(f.pair.server.get());
  CHECK(queue.queued() == 0);
  CHECK_FALSE(queue.sending());
  queue.write("");
  CHECK_FALSE(queue.sending());  // empty data does nothing
  queue.write("abc");
  queue.write("defg");
  CHECK(queue.queued() == 7);
  CHECK(queue.sending());
  CHECK(pump(f.port, queue));
  CHECK(queue.queued() == 0);
  CHECK_FALSE(queue.sending());
  // A packet that is not the queue's is refused.
  OVERLAPPED other{};
  GetResult stranger;
  stranger.status = GetStatus::completed;
  stranger.packet = {kKey, 1, &other};
  CHECK_THROWS_AS(queue.on_completion(stranger), std::invalid_argument);
}

TEST_CASE("writing to a reset peer ends in a system_error, not a hang [1 pt]") {
  Fixture f;
  WriteQueue queue(f.pair.server.get());
  evq::set_linger_reset(f.pair.client.get());
  f.pair.client.reset();  // RST
  std::string chunk(64 * 1024, 'x');
  bool threw = false;
  auto deadline = std::chrono::steady_clock::now() + evq::test::kDeadline;
  try {
    while (std::chrono::steady_clock::now() < deadline) {
      queue.write(chunk);
      GetResult r = f.port.get(1s);
      if (r.has_packet()) queue.on_completion(r);
    }
  } catch (const std::system_error& e) {
    threw = true;
    MESSAGE("the reset surfaced as: ", std::string(e.what()));
  }
  CHECK(threw);
}
