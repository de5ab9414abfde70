// Lab 1: idle timeouts with EVFILT_TIMER. Points are in the test names.
#include <stdexcept>

#include "evq/common/net.hpp"
#include "evq/kq/lab/idle_timers.hpp"
#include "kq_test.hpp"

using namespace evq::kq;
using namespace evq::kq::test;
using evq::kq::lab::IdleTimers;

TEST_CASE("an idle connection is reported once, with its descriptor as the timer's ident [2 pts]") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  evq::TcpPair pair = evq::tcp_pair();
  IdleTimers timers(kq, std::chrono::milliseconds(5));
  timers.watch(pair.server.get());
  CHECK(timers.watched() == 1);
  auto ev = wait_for(kq, id(pair.server.get()), EVFILT_TIMER);
  REQUIRE_MESSAGE(ev, "no EVFILT_TIMER with ident = the watched fd arrived");
  CHECK(timers.expired(*ev) == pair.server.get());
  CHECK_MESSAGE(timers.watched() == 0, "an expired connection is no longer watched");
  wait_at_least_ms(30);
  CHECK_MESSAGE(count_pending(kq, id(pair.server.get()), EVFILT_TIMER) == 0,
                "an idle timeout fires once, not every `idle` (use EV_ONESHOT)");
}

TEST_CASE("touch restarts the clock and throws away an expiry not yet delivered [2 pts]") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  evq::TcpPair pair = evq::tcp_pair();
  // One second of idleness: the check below happens right after touch(), far inside that second.
  IdleTimers timers(kq, std::chrono::seconds(1));
  timers.watch(pair.server.get());
  wait_at_least_ms(1100);  // the first clock has run out, and its expiry waits undelivered
  timers.touch(pair.server.get());
  CHECK_MESSAGE(count_pending(kq, id(pair.server.get()), EVFILT_TIMER) == 0,
                "touch() must restart the timer (EV_ADD again), which drops the pending expiry");
  CHECK(timers.watched() == 1);
}

TEST_CASE("forget stops the clock [1 pt]") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  evq::TcpPair pair = evq::tcp_pair();
  IdleTimers timers(kq, std::chrono::milliseconds(5));
  timers.watch(pair.server.get());
  timers.forget(pair.server.get());
  CHECK(timers.watched() == 0);
  wait_at_least_ms(30);
  CHECK_MESSAGE(count_pending(kq, id(pair.server.get()), EVFILT_TIMER) == 0,
                "a forgotten connection must not be reported");
  CHECK_NOTHROW(timers.forget(pair.server.get()));
}

TEST_CASE("only a watched descriptor's timer counts as expired, and misuse is refused [1 pt]") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  evq::TcpPair pair = evq::tcp_pair();
  IdleTimers timers(kq, std::chrono::seconds(60));
  const int fd = pair.server.get();
  timers.watch(fd);
  CHECK_THROWS_AS(timers.watch(fd), std::invalid_argument);
  CHECK_THROWS_AS(timers.touch(fd + 1000), std::out_of_range);
  CHECK(timers.expired(change(id(fd), EVFILT_READ, 0)) == -1);
  CHECK(timers.expired(change(id(fd + 1000), EVFILT_TIMER, 0)) == -1);
  CHECK(timers.watched() == 1);
  CHECK(timers.expired(change(id(fd), EVFILT_TIMER, 0, 0, 1)) == fd);
  CHECK(timers.expired(change(id(fd), EVFILT_TIMER, 0, 0, 1)) == -1);
}
