// Lab "idle_tracker": the bookkeeping with made-up times (no sleeping), then a real epoll loop.
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <map>
#include <thread>

#include "evq/common/net.hpp"
#include "evq/epoll/lab/idle_tracker.hpp"
#include "evq/epoll/nonblocking.hpp"
#include "evq/test/support.hpp"

using namespace evq;
using namespace evq::epoll;
using namespace evq::epoll::lab;
using namespace std::chrono_literals;
using Clock = IdleTracker::Clock;

namespace {
const Clock::time_point t0 = Clock::now();  // a fixed origin for made-up times
}

TEST_CASE("a connection expires once idle for the limit, not a moment before [2 pts]") {
  IdleTracker idle(10s);
  idle.touch(1, t0);
  CHECK(idle.expire(t0 + 9999ms).empty());
  CHECK(idle.size() == 1);
  auto expired = idle.expire(t0 + 10s);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0] == 1);
  CHECK_MESSAGE(idle.size() == 0, "an expired connection is no longer tracked");
  CHECK(idle.expire(t0 + 20s).empty());
}

TEST_CASE("touch restarts the idle time and expiry comes longest-idle first [2 pts]") {
  IdleTracker idle(10s);
  idle.touch(1, t0);
  idle.touch(2, t0 + 1s);
  idle.touch(3, t0 + 2s);
  idle.touch(1, t0 + 3s);  // 1 spoke again: it is now the most recently active
  auto expired = idle.expire(t0 + 12s);
  REQUIRE(expired.size() == 2);
  CHECK(expired[0] == 2);
  CHECK(expired[1] == 3);
  CHECK(idle.size() == 1);
  CHECK(idle.expire(t0 + 13s) == std::vector<Token>{1});
}

TEST_CASE("forget stops tracking, and unknown tokens are ignored [1 pt]") {
  IdleTracker idle(10s);
  idle.touch(1, t0);
  idle.touch(2, t0);
  idle.forget(1);
  idle.forget(99);
  CHECK(idle.size() == 1);
  CHECK(idle.expire(t0 + 1h) == std::vector<Token>{2});
}

TEST_CASE("time_to_next_expiry is nullopt when empty, zero when due, else rounded up to ms [2 pts]") {
  IdleTracker idle(10s);
  CHECK_FALSE_MESSAGE(idle.time_to_next_expiry(t0).has_value(), "nothing tracked: wait for ever");
  idle.touch(7, t0);
  idle.touch(8, t0 + 5s);
  CHECK(idle.time_to_next_expiry(t0 + 4s) == 6000ms);
  CHECK_MESSAGE(idle.time_to_next_expiry(t0 + 4s + 500us) == 6000ms,
                "5999.5 ms left must round UP, or the loop wakes early and spins");
  CHECK(idle.time_to_next_expiry(t0 + 10s) == 0ms);
  CHECK(idle.time_to_next_expiry(t0 + 1h) == 0ms);
  idle.expire(t0 + 10s);
  CHECK(idle.time_to_next_expiry(t0 + 10s) == 5000ms);
}

TEST_CASE("an epoll loop closes a silent connection after the limit, counted from its last message [3 pts]") {
  constexpr auto kLimit = 150ms;
  UniqueFd listener = listen_loopback(Family::v4, 16, /*nonblocking=*/true);
  std::uint16_t port = local_port(listener.get());
  std::atomic<bool> stop{false};
  std::string loop_error;

  // The server: accept, read, touch on every read, close what expires.
  std::jthread server([&] {
    try {
      IdleTracker idle(kLimit);
      Poll poll;
      poll.registry().add(listener.get(), 0, EPOLLIN);
      std::map<Token, UniqueFd> open;
      Token next = 1;
      Events events(16);
      while (!stop) {
        auto timeout = idle.time_to_next_expiry(Clock::now()).value_or(1000ms);
        poll.wait(events, std::min<std::chrono::milliseconds>(timeout, 1000ms));
        for (Event e : events) {
          if (e.token == 0) {
            for (AcceptResult a;
                 (a = try_accept(listener.get())).status != AcceptResult::Status::would_block;) {
              if (a.status != AcceptResult::Status::accepted) continue;
              poll.registry().add(a.fd.get(), next, EPOLLIN);
              idle.touch(next, Clock::now());
              open.emplace(next++, std::move(a.fd));
            }
            continue;
          }
          std::byte buffer[64];
          IoResult r = read_some(open.at(e.token).get(), buffer);
          if (r.done())
            idle.touch(e.token, Clock::now());
          else if (!r.would_block()) {
            idle.forget(e.token);
            open.erase(e.token);
          }
        }
        for (Token t : idle.expire(Clock::now())) open.erase(t);  // closing the fd removes it from epoll
      }
    } catch (const std::exception& e) {
      loop_error = e.what();
    }
  });

  UniqueFd client = connect_loopback(port);
  set_receive_timeout(client.get(), 10'000);
  // Talk twice, a little apart: each message must restart the idle time.
  Clock::time_point last_sent;
  for (int i = 0; i < 2; ++i) {
    std::this_thread::sleep_for(kLimit / 2);  // activity, not settling: a client with pauses
    last_sent = Clock::now();
    write_all(client.get(), "x");
  }
  std::byte b[1];
  std::size_t n = 1;
  std::string read_error;
  try {
    n = read_exact(client.get(), std::span(b));
  } catch (const std::exception& e) {
    read_error = e.what();
  }
  Clock::time_point closed_at = Clock::now();
  stop = true;
  server.join();
  REQUIRE_MESSAGE(loop_error.empty(), "the server loop threw: " << loop_error);
  REQUIRE_MESSAGE(read_error.empty(), "the silent connection was never closed: " << read_error);
  CHECK_MESSAGE(n == 0, "expected end of stream from the server's close");
  auto after = std::chrono::duration_cast<std::chrono::milliseconds>(closed_at - last_sent);
  CHECK_MESSAGE(closed_at - last_sent >= kLimit,
                "closed " << after.count() << " ms after the last message; the limit is 150 ms");
}
