// Lab ch01/worker_pool: a pool of threads on one completion port that stops gracefully.
#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <mutex>
#include <ostream>
#include <set>
#include <stdexcept>

#include "evq/iocp/lab/worker_pool.hpp"
#include "evq/iocp/overlapped_io.hpp"
#include "evq/test/support.hpp"

using namespace std::chrono_literals;
using evq::iocp::CompletionPort;
using evq::iocp::GetResult;
using evq::iocp::GetStatus;
using evq::iocp::lab::WorkerPool;

TEST_CASE("every packet queued before stop() is handled exactly once [3 pts]") {
  CompletionPort port(0);
  std::mutex mutex;
  std::multiset<ULONG_PTR> seen;
  WorkerPool pool(port, 4, [&](const GetResult& r) {
    std::lock_guard lock(mutex);
    seen.insert(r.packet.key);
  });
  CHECK(pool.threads() == 4);
  constexpr ULONG_PTR kPackets = 2000;
  for (ULONG_PTR key = 1; key <= kPackets; ++key) port.post(key);
  pool.stop();  // must drain the 2000 first
  std::lock_guard lock(mutex);
  CHECK(seen.size() == kPackets);
  bool each_once = true;
  for (ULONG_PTR key = 1; key <= kPackets; ++key) each_once = each_once && seen.count(key) == 1;
  CHECK_MESSAGE(each_once, "some packet was handled twice or never");
  CHECK(seen.count(evq::iocp::lab::kStopKey) == 0);  // the pool's own packets never reach the handler
}

TEST_CASE("after stop() no thread is left on the port, and no stop packet either [2 pts]") {
  CompletionPort port(0);
  std::atomic<int> handled{0};
  WorkerPool pool(port, 3, [&](const GetResult&) { ++handled; });
  port.post(1);
  pool.stop();
  pool.stop();  // a second stop does nothing
  CHECK(handled == 1);
  CHECK_MESSAGE(port.get(0ms).status == GetStatus::timed_out, "a stop packet was left in the port");
  port.post(99);
  GetResult r = port.get(evq::test::kDeadline);  // no pool thread may take it from us now
  CHECK(r.status == GetStatus::completed);
  CHECK(r.packet.key == 99);
  CHECK(handled == 1);
}

TEST_CASE("the threads really run side by side [2 pts]") {
  CompletionPort port(0);
  std::atomic<int> inside{0};
  std::atomic<bool> met{false};
  WorkerPool pool(port, 2, [&](const GetResult&) {
    ++inside;
    // Two handlers meet only if two threads run at once; a deadline keeps a one-thread pool from hanging.
    if (evq::test::wait_until([&] { return inside.load() >= 2; }, 5s)) met = true;
  });
  port.post(1);
  port.post(2);
  pool.stop();
  CHECK_MESSAGE(met.load(), "two packets never ran at the same time");
}

TEST_CASE("a failed I/O reaches the handler with its error [1 pt]") {
  evq::WsaSession session;
  CompletionPort port(0);
  evq::SocketPair pair = evq::socket_pair();
  port.associate(pair.server.get(), 5);
  std::mutex mutex;
  std::vector<GetResult> results;
  WorkerPool pool(port, 2, [&](const GetResult& r) {
    std::lock_guard lock(mutex);
    results.push_back(r);
  });
  std::array<char, 8> buffer{};
  OVERLAPPED overlapped{};
  REQUIRE(evq::iocp::start_recv(pair.server.get(), buffer, overlapped).state == evq::iocp::Started::pending);
  REQUIRE(::CancelIoEx(pair.server.handle(), &overlapped));
  CHECK(evq::test::wait_until([&] {
    std::lock_guard lock(mutex);
    return !results.empty();
  }));
  pool.stop();
  REQUIRE(results.size() == 1);
  CHECK(results[0].status == GetStatus::failed);
  CHECK(results[0].packet.key == 5);
  CHECK(results[0].packet.overlapped == &overlapped);
  CHECK(results[0].error == evq::win32_code(ERROR_OPERATION_ABORTED));
}

TEST_CASE("a pool of zero threads is refused with invalid_argument [1 pt]") {
  CompletionPort port(0);
  CHECK_THROWS_AS(WorkerPool(port, 0, [](const GetResult&) {}), std::invalid_argument);
}

TEST_CASE("the destructor stops the pool gracefully too [1 pt]") {
  CompletionPort port(0);
  std::atomic<int> handled{0};
  {
    WorkerPool pool(port, 2, [&](const GetResult&) { ++handled; });
    for (ULONG_PTR key = 1; key <= 100; ++key) port.post(key);
  }  // no stop(): the destructor drains
  CHECK(handled == 100);
  CHECK(port.get(0ms).status == GetStatus::timed_out);
}
