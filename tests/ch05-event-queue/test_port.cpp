// The native port's own rules, seen through its counters: what the semantics suite cannot ask IOCP.
#include <atomic>
#include <thread>
#include <vector>

#include "evq/port/blocking_scope.hpp"
#include "evq/port/port.hpp"
#include "evq/test/support.hpp"

using namespace std::chrono_literals;
using evq::port::BlockingScope;
using evq::port::Port;
using evq::port::Wait;
using evq::test::kDeadline;
using evq::test::wait_until;

TEST_CASE("post() decides at once: it hands a packet to a waiter only below the cap") {
  Port port(1);
  std::atomic<int> got{0};
  std::atomic<bool> finish{false};
  std::thread runner([&] {
    if (port.get(kDeadline).got()) ++got;
    wait_until([&] { return finish.load(); });
  });
  INFO("step 1: one thread parked in get(), then post(1): it is released and runs");
  REQUIRE(wait_until([&] { return port.counters().waiting == 1; }));
  port.post(1);
  REQUIRE(wait_until([&] { return got.load() == 1; }));
  CHECK(port.counters().running == 1);

  INFO("step 2: a second thread parks while the first still runs (the cap of 1 is reached), then post(2)");
  std::thread waiter([&] {
    if (port.get(kDeadline).got()) ++got;
  });
  REQUIRE(wait_until([&] { return port.counters().waiting == 1; }));
  port.post(2);
  Port::Counters c = port.counters();  // no waiting for anything: post() decided under the lock
  CHECK_MESSAGE(c.queued == 1, "with the cap reached, the packet must be queued");
  CHECK(c.waiting == 1);
  CHECK(c.running == 1);
  INFO("step 3: the runner exits, which frees the cap: the waiter must get packet 2");
  finish = true;
  runner.join();  // the runner's exit frees the cap: the waiter gets packet 2
  REQUIRE(wait_until([&] { return got.load() == 2; }));
  waiter.join();
  CHECK(port.counters().queued == 0);
}

// [snippet test-overshoot]
TEST_CASE(
    "after a blocking scope the running count overshoots the cap, and no waiter is released "
    "until it falls back") {
  Port port(1);
  std::atomic<int> step{0};
  std::atomic<bool> unblock{false}, again{false};
  evq::port::GetResult last;
  std::thread runner([&] {
    REQUIRE(port.get(kDeadline).got());
    {
      BlockingScope blocking;  // running 1 -> 0: the port may release a waiter
      step = 1;
      wait_until([&] { return unblock.load(); });
    }  // running back up, above the cap
    step = 2;
    wait_until([&] { return again.load(); });
    last = port.get(0ms);  // running -> 0 and takes the queued packet at once
    step = 3;
  });
  INFO("step 1: the runner takes packet 1 and enters a blocking scope");
  REQUIRE(wait_until([&] { return port.counters().waiting == 1; }));
  port.post(1);
  REQUIRE(wait_until([&] { return step.load() == 1; }));

  INFO("step 2: a waiter parks; packet 2 must go to it, since the runner is blocked elsewhere");
  std::atomic<int> waiter_got{0};
  std::atomic<bool> waiter_back{false};
  std::thread waiter([&] {
    while (port.get(kDeadline).got()) {
      ++waiter_got;
      wait_until([&] { return waiter_back.load(); });  // runs its packet until told to come back
    }
  });
  REQUIRE(wait_until([&] { return port.counters().waiting == 1; }));
  port.post(2);  // the runner is inside its scope: the waiter gets this one
  REQUIRE(wait_until([&] { return waiter_got.load() == 1; }));
  INFO("step 3: the runner leaves its scope while the waiter still runs: 2 running, cap 1");
  unblock = true;
  REQUIRE(wait_until([&] { return step.load() == 2; }));
  // Waiter running (got packet 2), runner back from its scope: 2 running, cap 1.
  CHECK(port.counters().running == 2);
  // The waiter comes back to get(): 2 -> 1 running, still the cap, so it waits.
  INFO("step 4: the waiter comes back to get() (1 running, still the cap), then packet 3 is posted");
  waiter_back = true;
  REQUIRE(wait_until([&] { return port.counters().waiting == 1; }));
  port.post(3);
  CHECK_MESSAGE(port.counters().queued == 1, "no waiter may be released while running >= cap");
  INFO("step 5: the runner comes back to get(): running drops to 0, and it takes packet 3 at once");
  again = true;
  REQUIRE(wait_until([&] { return step.load() == 3; }));
  CHECK(last.got());
  CHECK(last.packet.key == 3);
  runner.join();  // exits: the waiter may run; closing ends it
  port.close();
  waiter.join();
  CHECK(waiter_got.load() == 1);
}
// [/snippet test-overshoot]

TEST_CASE("a blocking scope outside any port, or nested, changes nothing") {
  Port port(1);
  {
    INFO("step 1: a scope on a thread that never called get()");
    BlockingScope outside;  // this thread never called get(): nothing to count
  }
  CHECK_MESSAGE(port.counters().running == 0, "a scope outside any port must not touch the count");
  port.post(1);
  REQUIRE(port.get(0ms).got());
  CHECK(port.counters().running == 1);
  {
    BlockingScope outer;
    CHECK_MESSAGE(port.counters().running == 0, "step 2: the outer scope stops counting the thread");
    {
      BlockingScope inner;
      CHECK_MESSAGE(port.counters().running == 0, "step 3: a nested scope must not count it twice");
    }
    CHECK_MESSAGE(port.counters().running == 0,
                  "step 4: leaving the inner scope keeps the outer one in force");
  }
  CHECK_MESSAGE(port.counters().running == 1, "step 5: leaving the outer scope counts the thread again");
}

TEST_CASE("a timed-out get() leaves the thread running, and a thread that exits stops counting") {
  Port port(2);
  // Plain CHECKs on the thread: doctest's INFO and CHECK_MESSAGE keep a thread_local context, and
  // mingw-w64's thread_local destructors crash at thread exit under Wine (notes/ch05, pitfalls).
  std::thread t([&] {
    CHECK(port.get(10ms).status == Wait::timeout);  // step 1: a get() that times out ...
    CHECK(port.counters().running == 1);            // ... leaves the thread running, so it counts
    CHECK(port.is_associated());
  });
  t.join();
  CHECK_MESSAGE(port.counters().running == 0, "step 2: the thread exited: it no longer counts");
  CHECK_FALSE(port.is_associated());
}

TEST_CASE("take_queued takes the oldest packet without waiting, and a look that finds none changes nothing") {
  Port port(1);
  Port::Counters before = port.counters();
  std::thread t([&] {  // a thread of its own: it has never been running for this port
    evq::port::Packet out;
    CHECK(port.take_queued(out) == Port::Queued::none);  // step 1: an empty port ...
    CHECK(port.counters().running == 0);  // ... and, unlike get(0), the thread is not counted as running
    port.post(7);
    port.post(8);
    CHECK(port.take_queued(out) == Port::Queued::taken);  // step 2: the oldest packet, FIFO ...
    CHECK(out.key == 7);
    CHECK(port.counters().running == 1);                  // ... and now it runs with it, as after a get()
    CHECK(port.take_queued(out) == Port::Queued::taken);  // step 3: a running thread at the cap of 1
    CHECK(out.key == 8);                                  // takes the next: it does not count while it asks
    CHECK(port.counters().running == 1);
    CHECK(port.take_queued(out) == Port::Queued::none);  // step 4: empty again, and still running
    CHECK(port.counters().running == 1);
  });
  t.join();
  CHECK(before.running == 0);
  CHECK(port.counters().running == 0);
  CHECK(port.counters().queued == 0);
}

TEST_CASE("take_queued leaves the packet queued while other threads run at the cap, and says closed") {
  Port port(1);
  std::atomic<bool> finish{false};
  std::thread runner([&] {  // takes a packet and keeps running: the cap of 1 is reached
    port.get(kDeadline);
    wait_until([&] { return finish.load(); });
  });
  port.post(1);
  REQUIRE(wait_until([&] { return port.counters().running == 1 && port.counters().queued == 0; }));
  INFO("step 1: another thread, not running, finds a packet queued but the cap reached: capped");
  port.post(2);
  evq::port::Packet out;
  CHECK(port.take_queued(out) == Port::Queued::capped);
  Port::Counters c = port.counters();
  CHECK_MESSAGE(c.queued == 1, "a capped look must leave the packet queued");
  CHECK_MESSAGE(c.running == 1, "a capped look must not count this thread as running");
  finish = true;
  runner.join();
  INFO("step 2: the runner exited, so the cap lets this thread take it");
  CHECK(port.take_queued(out) == Port::Queued::taken);
  CHECK(out.key == 2);
  INFO("step 3: after close, take_queued says closed and the association ends");
  port.close();
  CHECK(port.take_queued(out) == Port::Queued::closed);
  CHECK_FALSE(port.is_associated());
  CHECK_MESSAGE(port.counters().running == 0, "a thread that leaves a closed port no longer runs for it");
  INFO("step 4: the thread can run for a new port, counted once");
  Port next(1);
  next.post(3);
  CHECK(next.get(0ms).got());
  CHECK(next.counters().running == 1);
}

TEST_CASE("a get() on a second port moves the association and the running count") {
  Port a(1), b(1);
  INFO("step 1: a packet taken from port a: this thread runs for a");
  a.post(1);
  REQUIRE(a.get(0ms).got());
  CHECK(a.is_associated());
  CHECK(a.counters().running == 1);
  INFO("step 2: a get() on port b (it only looks): the thread now belongs to b, and a no longer counts it");
  CHECK(b.get(0ms).status == Wait::timeout);
  CHECK(b.is_associated());
  CHECK_FALSE(a.is_associated());
  CHECK(a.counters().running == 0);
  CHECK(b.counters().running == 1);
}

TEST_CASE("close drops queued packets, refuses posts and is idempotent") {
  Port port(1);
  for (int k = 0; k < 5; ++k) REQUIRE(port.post(static_cast<std::uint64_t>(k)));
  CHECK_MESSAGE(port.close() == 5, "step 1: the first close drops the 5 queued packets and says so");
  CHECK_MESSAGE(port.close() == 0, "step 2: a second close is a no-op");
  INFO("step 3: after close, posts fail and get() answers closed at once");
  CHECK(port.closed());
  CHECK_FALSE(port.post(6));
  CHECK(port.get(0ms).status == Wait::closed);
  CHECK(port.counters().queued == 0);
  CHECK_FALSE(port.is_associated());
}

TEST_CASE("the port can be destroyed while a thread that used it lives on") {
  std::thread t;
  std::atomic<bool> finish{false};
  {
    Port port(1);
    port.post(1);
    t = std::thread([&] {
      CHECK(port.get(kDeadline).got());
      wait_until([&] { return finish.load(); });
    });
    REQUIRE(wait_until([&] { return port.counters().running == 1; }));
  }  // destroyed while the thread is still associated: its shared state outlives the Port
  finish = true;
  t.join();  // thread exit touches the shared state; ASan would catch a use after free
}

TEST_CASE("get_many wants room for at least one packet") {
  Port port(1);
  std::span<evq::port::Packet> none;
  CHECK_THROWS_AS(port.get_many(none, 0ms), std::invalid_argument);
}

TEST_CASE("concurrency 0 is the CPU count") {
  Port port;
  CHECK(port.concurrency() == evq::port::cpu_count());
  CHECK(evq::port::cpu_count() >= 1);
}

// A caller's "wait for ever" is often spelled milliseconds::max(); a naive now() + timeout overflows
// (undefined behaviour) and in practice lands in the past, so get() would report a timeout at once.
TEST_CASE("get and get_many with a timeout of any length wait for the packet, never overflow") {
  for (auto timeout : {std::chrono::milliseconds::max(), std::chrono::milliseconds(10'000'000'000'000)}) {
    CAPTURE(timeout.count());
    Port port(1);
    std::thread poster([&] {
      wait_until([&] { return port.counters().waiting == 1; });  // the get() below is parked
      port.post(7);
    });
    evq::port::GetResult one = port.get(timeout);
    poster.join();
    CHECK_MESSAGE(one.status == Wait::packet, "get(" << timeout.count()
                                                     << " ms) should wait until the post; it "
                                                     << "returned " << to_string(one.status));

    std::thread poster2([&] {
      wait_until([&] { return port.counters().waiting == 1; });
      port.post(8);
    });
    evq::port::Packet out[4];
    Port::ManyResult many = port.get_many(out, timeout);
    poster2.join();
    CHECK_MESSAGE(many.status == Wait::packet, "get_many(" << timeout.count()
                                                           << " ms) should wait until the post; "
                                                           << "it returned " << to_string(many.status));
  }
}
