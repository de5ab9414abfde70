// EVFILT_TIMER (periodic, oneshot, restart, units, expiration counts) and EVFILT_USER (trigger,
// EV_CLEAR, the fflags operations, a wake-up from another thread).
#include <pthread.h>

#include <algorithm>
#include <csignal>
#include <atomic>
#include <thread>

#include "kq_test.hpp"

using namespace evq::kq;
using namespace evq::kq::test;

TEST_CASE("a periodic EVFILT_TIMER keeps firing, and stays registered") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  kq.apply(change(7, EVFILT_TIMER, EV_ADD, kNoteMilliseconds, 2));
  for (int i = 0; i < 3; ++i) {
    auto ev = wait_for(kq, 7, EVFILT_TIMER);
    REQUIRE_MESSAGE(ev, "tick " << i << " never came");
    CHECK(ev->data >= 1);
    CHECK_MESSAGE((ev->flags & EV_CLEAR),
                  "a timer always behaves as EV_CLEAR, and says so: " << describe(*ev));
  }
  CHECK(answer(kq, change(7, EVFILT_TIMER, EV_DELETE)) == 0);
}

TEST_CASE("data counts the expirations since the last delivery") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  kq.apply(change(7, EVFILT_TIMER, EV_ADD, kNoteMilliseconds, 1));
  wait_at_least_ms(30);  // the 1 ms timer has now expired at least 30 times, unread
  auto ev = wait_for(kq, 7, EVFILT_TIMER);
  REQUIRE(ev);
  CHECK_MESSAGE(ev->data >= 30, "30 ms of a 1 ms timer is at least 30 expirations: " << describe(*ev));
}

TEST_CASE("an EV_ONESHOT timer fires once and is deleted") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  kq.apply(change(9, EVFILT_TIMER, EV_ADD | EV_ONESHOT, kNoteMilliseconds, 1));
  auto ev = wait_for(kq, 9, EVFILT_TIMER);
  REQUIRE(ev);
  CHECK(ev->data == 1);
  wait_at_least_ms(5);
  CHECK_MESSAGE(count_pending(kq, 9, EVFILT_TIMER) == 0, "a oneshot timer fires once");
  CHECK(answer(kq, change(9, EVFILT_TIMER, EV_DELETE)) == ENOENT);
}

TEST_CASE("re-adding a timer restarts it and discards expirations not yet delivered") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  kq.apply(change(3, EVFILT_TIMER, EV_ADD, kNoteMilliseconds, 1));
  wait_at_least_ms(5);  // it has expired, undelivered
  kq.apply(change(3, EVFILT_TIMER, EV_ADD, NOTE_SECONDS, 3600));
  CHECK_MESSAGE(count_pending(kq, 3, EVFILT_TIMER) == 0,
                "the old expirations were thrown away, and the new period is an hour");
}

TEST_CASE("timer units: NOTE_USECONDS and NOTE_NSECONDS fire, and a disabled timer waits for EV_ENABLE") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  const struct kevent timers[] = {
      change(1, EVFILT_TIMER, EV_ADD | EV_ONESHOT, NOTE_USECONDS, 500),
      change(2, EVFILT_TIMER, EV_ADD | EV_ONESHOT, NOTE_NSECONDS, 100'000),
      change(3, EVFILT_TIMER, EV_ADD | EV_ONESHOT | EV_DISABLE, kNoteMilliseconds, 1),
  };
  kq.apply(timers);
  bool seen[3] = {false, false, false};
  CHECK_MESSAGE(evq::test::wait_until([&] {
                  for (const struct kevent& ev : pending(kq))
                    if (ev.ident < 3) seen[ev.ident] = true;
                  return seen[1] && seen[2];
                }),
                "the microsecond timer (" << seen[1] << ") and the nanosecond timer (" << seen[2]
                                          << ") should both fire");
  wait_at_least_ms(5);
  CHECK_MESSAGE(count_pending(kq, 3, EVFILT_TIMER) == 0, "a disabled timer is not reported");
  kq.apply(change(3, EVFILT_TIMER, EV_ENABLE));
  auto ev = wait_for(kq, 3, EVFILT_TIMER);
  REQUIRE_MESSAGE(ev, "enabled, the expiration that happened meanwhile is reported");
  CHECK(ev->data == 1);
}

TEST_CASE("an EVFILT_USER event fires only when triggered, and without EV_CLEAR it stays triggered") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  const struct kevent add[] = {change(1, EVFILT_USER, EV_ADD), change(2, EVFILT_USER, EV_ADD | EV_CLEAR)};
  kq.apply(add);
  CHECK_MESSAGE(pending(kq).empty(), "nothing is triggered yet");
  const struct kevent trigger[] = {change(1, EVFILT_USER, 0, NOTE_TRIGGER),
                                   change(2, EVFILT_USER, 0, NOTE_TRIGGER)};
  kq.apply(trigger);
  auto count = [](const std::vector<struct kevent>& events, uintptr_t ident) {
    return std::count_if(events.begin(), events.end(),
                         [&](const struct kevent& e) { return e.ident == ident; });
  };
  auto first = pending(kq);
  CHECK(count(first, 1) == 1);
  CHECK(count(first, 2) == 1);
  auto second = pending(kq);
  CHECK_MESSAGE(count(second, 1) == 1, "without EV_CLEAR a user event stays triggered (level)");
  CHECK_MESSAGE(count(second, 2) == 0, "EV_CLEAR untriggers the event on delivery");
  CHECK(answer(kq, change(3, EVFILT_USER, 0, NOTE_TRIGGER)) == ENOENT);
}

TEST_CASE("EVFILT_USER fflags: NOTE_FFCOPY, NOTE_FFOR, NOTE_FFAND, NOTE_FFNOP, and data") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  kq.apply(change(5, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_FFCOPY | 0x5));
  auto fire = [&](unsigned fflags, std::int64_t data = 0) {
    kq.apply(change(5, EVFILT_USER, 0, NOTE_TRIGGER | fflags, data));
    auto ev = wait_for(kq, 5, EVFILT_USER);
    REQUIRE(ev);
    CHECK_MESSAGE((ev->fflags & ~NOTE_FFLAGSMASK) == 0, "only the user's 24 bits come back");
    return *ev;
  };
  CHECK(fire(NOTE_FFNOP).fflags == 0x5u);
  CHECK(fire(NOTE_FFOR | 0x2).fflags == 0x7u);
  CHECK(fire(NOTE_FFAND | 0x3).fflags == 0x3u);
  CHECK(fire(NOTE_FFCOPY | 0xabcdef).fflags == 0xabcdefu);
  CHECK(fire(NOTE_FFNOP, 99).data == 99);
}

TEST_CASE("NOTE_TRIGGER from another thread wakes a thread blocked in kevent()") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  kq.apply(change(1, EVFILT_USER, EV_ADD | EV_CLEAR));
  std::optional<struct kevent> got;
  std::thread waiter([&] {
    struct kevent ev {};
    if (kq.wait(std::span(&ev, 1), evq::test::kDeadline) == 1) got = ev;
  });
  kq.apply(change(1, EVFILT_USER, 0, NOTE_TRIGGER | NOTE_FFCOPY | 0x42));
  waiter.join();
  REQUIRE_MESSAGE(got, "the waiting thread should have been woken by the trigger");
  CHECK(got->ident == 1u);
  CHECK(got->fflags == 0x42u);
}

TEST_CASE("two threads blocked in one kqueue are both released by two triggers") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  const struct kevent add[] = {change(1, EVFILT_USER, EV_ADD | EV_ONESHOT),
                               change(2, EVFILT_USER, EV_ADD | EV_ONESHOT)};
  kq.apply(add);
  std::atomic<int> woken{0};
  auto wait_one = [&] {
    struct kevent ev {};
    if (kq.wait(std::span(&ev, 1), evq::test::kDeadline) == 1) ++woken;
  };
  std::thread a(wait_one), b(wait_one);
  const struct kevent trigger[] = {change(1, EVFILT_USER, 0, NOTE_TRIGGER),
                                   change(2, EVFILT_USER, 0, NOTE_TRIGGER)};
  kq.apply(trigger);
  a.join();
  b.join();
  CHECK_MESSAGE(woken == 2, "each waiter should get one of the two events");
}

namespace {
std::atomic<int> g_signals{0};
void count_signal(int) {
  ++g_signals;
}
}  // namespace

TEST_CASE("a signal interrupts a waiting kevent() with EINTR") {
  EVQ_KQ_PLATFORM_NOTE();
  struct sigaction action {
  }, old{};
  action.sa_handler = count_signal;  // no SA_RESTART: the wait must give up, as kevent(2) says
  sigemptyset(&action.sa_mask);
  REQUIRE(::sigaction(SIGUSR1, &action, &old) == 0);
  Kqueue kq;
  std::atomic<bool> done{false};
  int result = 0, error = 0;
  std::thread waiter([&] {
    struct kevent ev {};
    timespec limit{10, 0};
    result = ::kevent(kq.fd(), nullptr, 0, &ev, 1, &limit);
    error = errno;
    done = true;
  });
  // Keep signalling until the waiter returns: a signal that lands before it blocks is not enough.
  bool returned = evq::test::wait_until([&] {
    if (!done) ::pthread_kill(waiter.native_handle(), SIGUSR1);
    return done.load();
  });
  waiter.join();
  ::sigaction(SIGUSR1, &old, nullptr);
  REQUIRE(returned);
  CHECK(g_signals > 0);
  CHECK_MESSAGE(result == -1, "kevent should fail with EINTR rather than wait out its timeout");
  CHECK(error == EINTR);
}

// kevent() takes a timespec; the wrapper takes nanoseconds. The longest wait a caller can spell must
// reach the kernel (or the emulation's epoll_wait) as a long wait, not wrap into a short or negative one.
TEST_CASE("a wait with a timeout of any length lasts until the event, never wraps") {
  EVQ_KQ_PLATFORM_NOTE();
  for (auto timeout : {std::chrono::nanoseconds::max(), std::chrono::nanoseconds(4'294'967'297'000'000)}) {
    CAPTURE(timeout.count());
    Kqueue kq;
    kq.apply(change(1, EVFILT_USER, EV_ADD | EV_CLEAR));
    std::thread trigger([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // after the wait below has begun
      kq.apply(change(1, EVFILT_USER, 0, NOTE_TRIGGER));
    });
    struct kevent ev {};
    std::size_t n = kq.wait(std::span(&ev, 1), timeout);
    trigger.join();
    CHECK_MESSAGE(n == 1,
                  "a wait of " << timeout.count() << " ns should last until the trigger; it returned " << n);
  }
}
