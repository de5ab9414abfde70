// The trace records what the port did, in the order it did it, as Chrome trace JSON.
#include <atomic>
#include <thread>
#include <vector>

#include "evq/port/port.hpp"
#include "evq/port/trace.hpp"
#include "evq/test/support.hpp"

using namespace std::chrono_literals;
using evq::port::Port;
using evq::port::Trace;
using evq::test::kDeadline;
using evq::test::wait_until;

// [snippet test-trace]
TEST_CASE("a trace shows LIFO release: the last thread to park gets the first packet") {
  Trace trace;
  Port port(4);
  port.set_trace(&trace);
  std::vector<std::thread> threads;
  std::vector<int> ids(3);
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      ids[static_cast<std::size_t>(i)] = trace.thread_id();
      CHECK(port.get(kDeadline).got());
    });
    REQUIRE(wait_until([&] { return port.counters().waiting == static_cast<std::size_t>(i + 1); }));
  }
  for (std::uint64_t k = 1; k <= 3; ++k) {
    port.post(k);
    REQUIRE(wait_until([&] { return trace.of_kind(Trace::Kind::got).size() == k; }));
  }
  for (auto& t : threads) t.join();

  INFO("three threads parked one after another (trace ids ", ids[0], ", ", ids[1], ", ", ids[2],
       "), then packets 1, 2, 3 were posted one at a time");
  auto parked = trace.of_kind(Trace::Kind::parked);
  auto got = trace.of_kind(Trace::Kind::got);
  REQUIRE(parked.size() == 3);
  REQUIRE(got.size() == 3);
  for (int i = 0; i < 3; ++i)
    CHECK_MESSAGE(parked[static_cast<std::size_t>(i)].first == ids[static_cast<std::size_t>(i)],
                  "the trace must record the parks in the order they happened");
  INFO("LIFO: packet 1 to the last thread to park, packet 3 to the first");
  CHECK(got[0] == std::pair<int, std::uint64_t>{ids[2], 1});  // last parked, oldest packet
  CHECK(got[1] == std::pair<int, std::uint64_t>{ids[1], 2});
  CHECK(got[2] == std::pair<int, std::uint64_t>{ids[0], 3});
}
// [/snippet test-trace]

TEST_CASE("the trace's counters never show more running threads than the cap without a scope") {
  Trace trace;
  Port port(1);
  port.set_trace(&trace);
  std::vector<std::thread> threads;
  std::atomic<int> handled{0};
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&] {
      while (port.get(kDeadline).got()) ++handled;
    });
  for (std::uint64_t k = 0; k < 300; ++k) port.post(k);
  REQUIRE(wait_until([&] { return handled.load() == 300; }));
  port.close();
  for (auto& t : threads) t.join();
  unsigned max_running = 0;
  for (const Trace::Event& e : trace.events())
    if (e.kind == Trace::Kind::counters) max_running = std::max(max_running, e.running);
  CHECK(max_running == 1);
}

TEST_CASE("the Chrome trace JSON has the events, the counter track and the thread names") {
  Trace trace;
  Port port(2);
  port.set_trace(&trace);
  trace.name_thread("main");
  port.post(42);
  REQUIRE(port.get(0ms).got());
  CHECK(port.get(0ms).status == evq::port::Wait::timeout);
  std::string json = trace.chrome_json();
  CHECK(json.rfind("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", 0) == 0);
  CHECK(json.find(R"("name":"key 42","cat":"port","ph":"B")") != std::string::npos);
  CHECK(json.find(R"("name":"post key 42")") != std::string::npos);
  CHECK(json.find(R"("name":"timeout")") != std::string::npos);
  CHECK(json.find(R"("ph":"C")") != std::string::npos);
  CHECK(json.find(R"("args":{"name":"main"})") != std::string::npos);
  CHECK(json.substr(json.size() - 4) == "\n]}\n");
}

TEST_CASE("writing a trace to a path that cannot be opened is a clear error") {
  Trace trace;
  CHECK_THROWS_AS(trace.write_chrome_json("/nonexistent-dir/x/trace.json"), std::system_error);
}

TEST_CASE("the ASCII timeline has one clean row per thread and a running row") {
  Trace trace;
  Port port(1);
  port.set_trace(&trace);
  trace.name_thread("main");
  std::thread waiter([&] {
    trace.name_thread("waiter");
    CHECK(port.get(kDeadline).got());
  });
  REQUIRE(wait_until([&] { return port.counters().waiting == 1; }));
  port.post(1);
  waiter.join();
  std::string text = trace.ascii_timeline(40);
  CHECK(text.find('\0') == std::string::npos);
  CHECK(text.find("    waiter |") != std::string::npos);
  CHECK(text.find("   running |") != std::string::npos);
  CHECK(text.find('.') != std::string::npos);  // the waiter was parked
  CHECK(text.find('#') != std::string::npos);  // then ran its packet
  std::size_t lines = 0;
  for (std::size_t at = 0; (at = text.find('\n', at)) != std::string::npos; ++at) ++lines;
  CHECK(lines == 2);  // waiter, running (main only posted: no get(), no row)
  for (std::size_t at = 0, end; (end = text.find('\n', at)) != std::string::npos; at = end + 1)
    CHECK(end - at == 10 + 2 + 40 + 1);  // "label |" + 40 columns + "|"
}
