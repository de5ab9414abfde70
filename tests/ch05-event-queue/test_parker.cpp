// The Parker (src/parker.hpp), where a waiting thread sleeps, and its SpinBudget (src/spin_budget.hpp).
// Both implementations are tested here on every system that builds them: the futex one the port
// uses on Linux and Windows, and the condition-variable one it falls back to on macOS and FreeBSD,
// so that the fallback is not only compiled where nobody runs it. The cases pin down the contract
// the port's hand-off rests on: an unpark is never lost, a deadline is honoured, a timed-out park
// is told apart from a wake, and the waker's last touch comes before the waiter returns (the
// waiter may free its Parker at once, which AddressSanitizer checks in the dev build).
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "evq/port/port.hpp"
#include "evq/test/support.hpp"
#include "parker.hpp"

using namespace std::chrono_literals;
using evq::port::detail::CondvarParker;
using evq::port::detail::SpinBudget;
using evq::test::wait_until;

#if EVQ_PORT_HAVE_ADDRESS_WAIT
using evq::port::detail::FutexParker;
#define EVQ_PARKERS FutexParker, CondvarParker
#else
#define EVQ_PARKERS CondvarParker
#endif

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

TEST_CASE("the spin budget starts at the limit and never exceeds it") {
  SpinBudget b;
  const auto limit = 8000ns;
  CHECK(b.current(limit) == limit);
  CHECK(b.current(1000ns) == 1000ns);
  for (int i = 0; i < 10; ++i) b.caught_while_spinning(limit);
  CHECK_MESSAGE(b.current(limit) == limit, "spins that pay off must not grow the budget past the limit");
  CHECK(b.current(0ns) == 0ns);
}

TEST_CASE("the spin limit follows the measured wake cost, within a floor and the cap") {
  CHECK_MESSAGE(SpinBudget::limit_for(20us, 50us) == 30us, "1.5 x a 20 us wake cost");
  CHECK_MESSAGE(SpinBudget::limit_for(100us, 50us) == 50us, "never above the cap");
  CHECK_MESSAGE(SpinBudget::limit_for(100ns, 50us) == SpinBudget::kMinLimit, "never below the floor");
  CHECK_MESSAGE(SpinBudget::limit_for(20us, 0ns) == 0ns, "a cap of zero turns spinning off");
}

TEST_CASE("long sleeps shrink the spin budget to zero, and one near miss brings spinning back") {
  SpinBudget b;
  const std::chrono::nanoseconds limit = 8000ns;
  int parks = 0;
  while (b.current(limit) > 0ns && parks < 100) {
    b.slept(10ms, limit);  // far longer than any spin: spinning would not have helped
    ++parks;
    INFO("after ", parks, " long sleeps the budget is ", b.current(limit).count(), " ns");
    CHECK(b.current(limit) < limit);
  }
  CHECK_MESSAGE(parks <= 6, "halving from 8 us should reach zero within 6 long sleeps, took ", parks);
  b.slept(10ms, limit);
  CHECK_MESSAGE(b.current(limit) == 0ns, "an idle thread should stop spinning altogether");
  b.slept(2us, limit);  // woken 2 us after it fell asleep: a spin would have caught that
  CHECK(b.current(limit) == 2 * SpinBudget::kFloor);
  b.caught_while_spinning(limit);
  CHECK(b.current(limit) == 4 * SpinBudget::kFloor);
}

TEST_CASE_TEMPLATE("an unpark before the park makes the park return at once", P, EVQ_PARKERS) {
  P parker;
  parker.unpark();
  CHECK(parker.park_until(Clock::now() + 10s));
  // The wake was used up: the next park waits out its (short) deadline.
  CHECK_FALSE(parker.park_until(Clock::now() + 20ms));
}

TEST_CASE_TEMPLATE("a park with nobody to wake it returns false at its deadline, not before", P,
                   EVQ_PARKERS) {
  P parker;
  for (auto wait : {0ms, 1ms, 30ms}) {
    CAPTURE(wait.count());
    const auto deadline = Clock::now() + wait;
    CHECK_FALSE(parker.park_until(deadline));
    CHECK_MESSAGE(Clock::now() >= deadline, "park_until returned before its deadline");
  }
}

TEST_CASE_TEMPLATE("an unpark wakes a thread that sleeps with no deadline", P, EVQ_PARKERS) {
  evq::port::set_spin_limit(0ns);  // make it sleep in the kernel, not catch the wake while spinning
  P parker;
  std::atomic<int> step{0};
  std::thread sleeper([&] {
    step = 1;
    bool woken = parker.park_until(Clock::time_point::max());
    step = woken ? 2 : 3;
  });
  REQUIRE(wait_until([&] { return step.load() == 1; }));
  std::this_thread::sleep_for(20ms);  // not for settling: a later unpark is the case under test
  CHECK(step.load() == 1);
  parker.unpark();
  CHECK_MESSAGE(wait_until([&] { return step.load() != 1; }), "the sleeper never woke: a lost unpark");
  sleeper.join();
  CHECK(step.load() == 2);
  evq::port::set_spin_limit(SpinBudget::kDefaultCap);
}

TEST_CASE_TEMPLATE("two threads ping-ponging through two parkers never lose a wake", P, EVQ_PARKERS) {
  for (std::chrono::nanoseconds limit : {0ns, 2000ns, 8000ns}) {  // sleeping, mixed, and mostly spinning
    CAPTURE(limit.count());
    evq::port::set_spin_limit(limit);
    constexpr int kRounds = 20'000;
    P to_server, to_client;
    std::atomic<int> lost{0};
    std::thread server([&] {
      for (int i = 0; i < kRounds; ++i) {
        if (!to_server.park_until(Clock::now() + 10s)) {
          lost = 1;
          return;
        }
        to_client.unpark();
      }
    });
    int done = 0;
    for (; done < kRounds && lost.load() == 0; ++done) {
      to_server.unpark();
      if (!to_client.park_until(Clock::now() + 10s)) {
        lost = 2;
        break;
      }
    }
    server.join();
    CHECK_MESSAGE(lost.load() == 0, "a park waited 10 s for an unpark that had been made (",
                  lost.load() == 1 ? "server" : "client", " side, round ", done, ")");
  }
  evq::port::set_spin_limit(SpinBudget::kDefaultCap);
}

TEST_CASE_TEMPLATE("a woken thread may free its parker at once: the waker is done with it", P, EVQ_PARKERS) {
  // The port's waiter lives on the waiting thread's stack and its Parker in a thread-local: both
  // vanish as soon as the thread returns. A waker that touched the Parker after the waiter could
  // see the wake would write to freed memory here (AddressSanitizer: heap-use-after-free).
  for (std::chrono::nanoseconds limit : {0ns, 8000ns}) {
    CAPTURE(limit.count());
    evq::port::set_spin_limit(limit);
    for (int i = 0; i < 2'000; ++i) {
      auto parker = std::make_unique<P>();
      std::atomic<bool> parking{false};
      std::thread waker([&, p = parker.get()] {
        while (!parking.load()) std::this_thread::yield();
        p->unpark();
      });
      parking = true;
      REQUIRE(parker->park_until(Clock::now() + 10s));
      parker.reset();  // while the waker may still be inside unpark()
      waker.join();
    }
  }
  evq::port::set_spin_limit(SpinBudget::kDefaultCap);
}

TEST_CASE("set_spin_limit bounds every thread's spin, and a negative limit means no spin") {
  evq::port::set_spin_limit(-5us);
  CHECK(evq::port::spin_limit() == 0ns);
  evq::port::set_spin_limit(3us);
  CHECK(evq::port::spin_limit() == 3us);
  evq::port::detail::Parker parker;
  CHECK(parker.spin_budget() <= 3us);
  evq::port::set_spin_limit(SpinBudget::kDefaultCap);
  CHECK(parker.spin_budget() <= SpinBudget::kDefaultCap);
  CHECK(parker.spin_budget() >= SpinBudget::kMinLimit);
}
