// The completion-port semantics of Microsoft's "I/O Completion Ports", written once and run against every implementation
// in EVQ_PORTS: this chapter's evq::port::Port everywhere, and real IOCP in the Windows build (Wine).
// Where a host departs from the document, the case prints so (MESSAGE) and asserts what it does.
#include <atomic>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "evq/test/support.hpp"
#include "native_port.hpp"
#ifdef _WIN32
#include "iocp_port.hpp"
#define EVQ_PORTS evq::test::NativePort, evq::test::IocpPort
#else
#define EVQ_PORTS evq::test::NativePort
#endif

using namespace std::chrono_literals;
using evq::port::Wait;
using evq::test::Got;
using evq::test::Host;
using evq::test::kDeadline;
using evq::test::wait_until;

namespace {

// How long a case gives a host to do something it must *not* do (release a waiter past the cap).
// A negative can only be watched for a while; this is that while, not a duration being asserted.
constexpr auto kGrace = 200ms;

template <typename P>
void say_host() {
  Host host = P::host();
  MESSAGE("implementation: ", std::string(P::kName), "; host: ", host.name);
}

// Waits until `n` threads are parked in get(). The native port counts its waiters; IOCP cannot be
// asked, so there we wait until the threads have started and give them time to reach the call.
template <typename P>
void wait_parked(P& port, std::size_t n, const std::atomic<int>& started) {
  if (port.waiting()) {
    REQUIRE_MESSAGE(wait_until([&] { return *port.waiting() >= n; }), n, " threads should be parked");
  } else {
    REQUIRE(wait_until([&] { return started.load() >= static_cast<int>(n); }));
    std::this_thread::sleep_for(50ms);  // no API tells whether a thread is inside the wait yet
  }
}

// A log of which thread got which packet, filled from many threads.
struct Log {
  std::mutex mutex;
  std::vector<std::pair<int, Got>> entries;
  void add(int who, Got got) {
    std::lock_guard lock(mutex);
    entries.emplace_back(who, got);
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return entries.size();
  }
  std::vector<std::pair<int, Got>> copy() {
    std::lock_guard lock(mutex);
    return entries;
  }
};

}  // namespace

TEST_CASE_TEMPLATE("packets come out in the order they were queued (FIFO)", P, EVQ_PORTS) {
  say_host<P>();
  P port(1);
  for (std::uint64_t k = 1; k <= 50; ++k) port.post(k);
  for (std::uint64_t k = 1; k <= 50; ++k) {
    Got g = port.get(0ms);
    REQUIRE(g.status == Wait::packet);
    CHECK_MESSAGE(g.key == k, "packet ", k, " should come out next, got ", g.key);
  }
  CHECK(port.get(0ms).status == Wait::timeout);
}

// [snippet test-lifo]
TEST_CASE_TEMPLATE("waiting threads are released LIFO: the most recent waiter gets the oldest packet", P,
                   EVQ_PORTS) {
  say_host<P>();
  Host host = P::host();
  P port(8);  // a cap well above 3, so only the release order is at work
  std::atomic<int> started{0};
  Log log;
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      ++started;
      log.add(i, port.get(kDeadline));
    });
    wait_parked(port, static_cast<std::size_t>(i + 1), started);  // park them one after another
  }
  for (std::uint64_t k = 1; k <= 3; ++k) {  // then post one packet at a time
    port.post(k);
    REQUIRE(wait_until([&] { return log.size() == k; }));
  }
  for (auto& t : threads) t.join();

  std::vector<int> order;
  for (auto& [who, got] : log.copy()) {
    CHECK(got.status == Wait::packet);
    order.push_back(who);
  }
  std::vector<int> lifo{2, 1, 0}, fifo{0, 1, 2};
  if (host.lifo_release) {
    CHECK_MESSAGE(order == lifo, "the last thread to wait should be released first");
  } else {
    MESSAGE(host.name, " releases waiters FIFO, not LIFO as Microsoft's article says; asserting FIFO");
    CHECK(order == fifo);
  }
}
// [/snippet test-lifo]

// [snippet test-cap]
TEST_CASE_TEMPLATE(
    "concurrency 1: no waiter is released while one thread runs, and it takes the next "
    "packet itself without blocking",
    P, EVQ_PORTS) {
  say_host<P>();
  Host host = P::host();
  P port(1);
  std::atomic<int> started{0};
  std::atomic<bool> go_back{false};
  std::atomic<int> runner_step{0};
  Got second;
  std::thread runner([&] {
    ++started;
    Got first = port.get(kDeadline);  // from here on, this thread is running
    CHECK(first.key == 1);
    runner_step = 1;
    wait_until([&] { return go_back.load(); });
    second = port.get(0ms);  // comes back: must not block
    runner_step = 2;
  });
  INFO("step 1: the runner takes packet 1 and keeps running (the cap of 1 is reached)");
  wait_parked(port, 1, started);
  port.post(1);
  REQUIRE(wait_until([&] { return runner_step.load() == 1; }));

  INFO("step 2: two more threads park, then packet 2 is posted while the runner still runs");
  Log log;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 2; ++i) {
    waiters.emplace_back([&, i] {
      ++started;
      log.add(i, port.get(kDeadline));
    });
  }
  wait_parked(port, 2, started);
  port.post(2);  // one thread is running and the cap is 1: the packet must stay queued

  if (host.enforces_concurrency) {
    CHECK_FALSE_MESSAGE(wait_until([&] { return log.size() > 0; }, kGrace),
                        "a waiter was released although the running thread filled the cap");
    go_back = true;
    REQUIRE(wait_until([&] { return runner_step.load() == 2; }));
    CHECK(second.status == Wait::packet);
    CHECK_MESSAGE(second.key == 2, "the returning thread should take the queued packet");
  } else {
    MESSAGE(host.name, " does not enforce the concurrency value: a waiter takes packet 2 at once");
    CHECK(wait_until([&] { return log.size() == 1; }));
    go_back = true;
    REQUIRE(wait_until([&] { return runner_step.load() == 2; }));
    CHECK(second.status == Wait::timeout);
  }
  INFO("step 3: the runner exits, so the waiters may run: two more packets reach them");
  runner.join();  // a thread that exits no longer counts as running: the waiters may go
  port.post(98);
  port.post(99);
  // Either way two packets have now reached the waiters (Wine's took packet 2 and 98).
  REQUIRE(wait_until([&] { return log.size() == 2; }));
  for (auto& t : waiters) t.join();
  for (auto& [who, got] : log.copy()) CHECK(got.status == Wait::packet);
}
// [/snippet test-cap]

TEST_CASE_TEMPLATE("a thread that comes back to get() finds a queued packet without blocking", P, EVQ_PORTS) {
  say_host<P>();
  P port(1);
  port.post(1);
  Got first = port.get(kDeadline);
  REQUIRE(first.status == Wait::packet);
  INFO("this thread runs (it took packet 1, cap 1); packets 2 and 3 are posted, and it comes back");
  port.post(2);
  port.post(3);
  // A zero timeout only looks: these can succeed only if the packets are there for this thread.
  CHECK(port.get(0ms).key == 2);
  CHECK(port.get(0ms).key == 3);
  CHECK(port.get(0ms).status == Wait::timeout);
}

TEST_CASE_TEMPLATE("concurrency 0 means as many running threads as CPUs", P, EVQ_PORTS) {
  say_host<P>();
  Host host = P::host();
  const unsigned cpus = evq::port::cpu_count();
  P port(0);
  if (auto c = port.concurrency()) CHECK(*c == cpus);

  std::atomic<int> started{0};
  std::atomic<unsigned> holding{0};
  std::atomic<bool> release{false};
  std::vector<std::thread> runners;
  for (unsigned i = 0; i < cpus; ++i) {
    runners.emplace_back([&] {
      ++started;
      if (port.get(kDeadline).status == Wait::packet) ++holding;
      wait_until([&] { return release.load(); });
    });
  }
  wait_parked(port, cpus, started);
  for (unsigned i = 0; i < cpus; ++i) port.post(i + 1);
  REQUIRE_MESSAGE(wait_until([&] { return holding.load() == cpus; }), "each of the ", cpus,
                  " threads should get a packet: the cap is ", cpus);

  Log log;
  std::thread extra([&] {
    ++started;
    log.add(0, port.get(kDeadline));
  });
  wait_parked(port, 1, started);
  port.post(100);
  if (host.enforces_concurrency) {
    CHECK_FALSE_MESSAGE(wait_until([&] { return log.size() > 0; }, kGrace), "a waiter was released although ",
                        cpus, " threads (= CPUs) were running");
  } else {
    MESSAGE(host.name, " does not enforce the concurrency value: the extra waiter runs at once");
    CHECK(wait_until([&] { return log.size() == 1; }));
  }
  release = true;
  for (auto& t : runners) t.join();  // they exit: the cap frees up and the extra thread runs
  REQUIRE(wait_until([&] { return log.size() == 1; }));
  extra.join();
  CHECK(log.copy()[0].second.key == 100);
}

TEST_CASE_TEMPLATE("a get() on another port moves the thread's association, freeing the first port", P,
                   EVQ_PORTS) {
  say_host<P>();
  Host host = P::host();
  P a(1), b(1);
  std::atomic<int> started_a{0};
  std::atomic<int> step{0};
  std::atomic<bool> move{false};
  Got on_b;
  std::thread mover([&] {
    ++started_a;
    CHECK(a.get(kDeadline).key == 1);  // associated with a, and running there
    step = 1;
    wait_until([&] { return move.load(); });
    on_b = b.get(kDeadline);  // now associated with b: a has no running thread
  });
  INFO("step 1: the mover takes packet 1 from port a and runs there (a's cap of 1 is reached)");
  wait_parked(a, 1, started_a);
  a.post(1);
  REQUIRE(wait_until([&] { return step.load() == 1; }));

  INFO("step 2: a waiter parks on a and packet 2 is posted; then the mover calls get() on port b");
  Log log;
  std::thread waiter([&] {
    ++started_a;
    log.add(0, a.get(kDeadline));
  });
  wait_parked(a, 1, started_a);
  a.post(2);
  if (host.enforces_concurrency) {
    CHECK_FALSE(wait_until([&] { return log.size() > 0; }, kGrace));
    move = true;
    CHECK_MESSAGE(wait_until([&] { return log.size() == 1; }),
                  "moving the running thread to port b should let port a release its waiter");
  } else {
    MESSAGE(host.name, " does not enforce the concurrency value: the waiter ran before the move");
    CHECK(wait_until([&] { return log.size() == 1; }));
    move = true;
  }
  INFO("step 3: packet 7 on b reaches the mover; the waiter on a had packet 2");
  b.post(7);
  mover.join();
  waiter.join();
  CHECK(on_b.key == 7);
  CHECK(log.copy()[0].second.key == 2);
}

// [snippet test-get-many]
TEST_CASE_TEMPLATE("get_many (the Ex form) returns as soon as one packet is there, up to N at once", P,
                   EVQ_PORTS) {
  say_host<P>();
  P port(2);
  std::atomic<int> started{0};
  std::vector<std::uint64_t> first;
  Wait first_status = Wait::closed;
  std::thread t([&] {
    ++started;
    first = port.get_many(16, kDeadline, first_status);  // room for 16, deadline of seconds
  });
  INFO("step 1: one thread parks in get_many with room for 16; a single packet is posted");
  wait_parked(port, 1, started);
  port.post(5);
  t.join();  // returns with the one packet: it does not wait to fill 16 or for the deadline
  CHECK(first_status == Wait::packet);
  CHECK(first == std::vector<std::uint64_t>{5});

  INFO("step 2: five packets queued, then one get_many takes them all, oldest first; then it only looks");
  for (std::uint64_t k = 1; k <= 5; ++k) port.post(k);
  Wait status = Wait::closed;
  CHECK(port.get_many(16, kDeadline, status) == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
  CHECK(status == Wait::packet);
  CHECK(port.get_many(16, 0ms, status).empty());
  CHECK(status == Wait::timeout);
}
// [/snippet test-get-many]

// [snippet test-timeout]
TEST_CASE_TEMPLATE("a timed-out get() is told apart from a failed I/O packet", P, EVQ_PORTS) {
  say_host<P>();
  P port(1);
  Got timed_out = port.get(20ms);
  CHECK_MESSAGE(timed_out.status == Wait::timeout, "step 1: nothing queued, so a 20 ms get() times out");

  INFO("step 2: a failed I/O packet, then a good one");
  port.post_failed_io(9);
  Got failed = port.get(kDeadline);
  CHECK_MESSAGE(failed.status == Wait::packet, "a failed I/O is still a packet");
  CHECK(failed.io_failed);
  CHECK(failed.key == 9);

  port.post(10);
  Got fine = port.get(kDeadline);
  CHECK(fine.status == Wait::packet);
  CHECK_FALSE(fine.io_failed);
}
// [/snippet test-timeout]

TEST_CASE_TEMPLATE("a thread that blocks elsewhere lets the port release another waiter", P, EVQ_PORTS) {
  say_host<P>();
  Host host = P::host();
  P port(1);
  std::atomic<int> started{0};
  std::atomic<int> step{0};
  std::atomic<bool> block{false}, unblock{false};
  std::thread runner([&] {
    ++started;
    CHECK(port.get(kDeadline).key == 1);
    step = 1;
    wait_until([&] { return block.load(); });
    port.block_elsewhere([&] { wait_until([&] { return unblock.load(); }); });
    step = 2;
  });
  wait_parked(port, 1, started);
  port.post(1);
  REQUIRE(wait_until([&] { return step.load() == 1; }));

  Log log;
  std::thread waiter([&] {
    ++started;
    log.add(0, port.get(kDeadline));
  });
  wait_parked(port, 1, started);
  port.post(2);
  if (host.enforces_concurrency) {
    CHECK_FALSE(wait_until([&] { return log.size() > 0; }, kGrace));
    block = true;
    CHECK_MESSAGE(wait_until([&] { return log.size() == 1; }),
                  "while the running thread is blocked elsewhere, the waiter should get packet 2");
  } else {
    MESSAGE(host.name, " does not enforce the concurrency value: the waiter ran before the block");
    CHECK(wait_until([&] { return log.size() == 1; }));
    block = true;
  }
  unblock = true;
  runner.join();
  waiter.join();
  CHECK(log.copy()[0].second.key == 2);
}

// [snippet test-close]
TEST_CASE_TEMPLATE("close releases every blocked waiter with a closed result", P, EVQ_PORTS) {
  say_host<P>();
  Host host = P::host();
  P port(2);
  std::atomic<int> started{0};
  Log log;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&, i] {
      ++started;
      log.add(i, port.get(3s));
    });
  }
  wait_parked(port, 3, started);
  port.post(1);  // one of them gets a packet; the other two stay blocked
  REQUIRE(wait_until([&] { return log.size() == 1; }));
  port.close();
  // Every waiter returns: released by close, or (where close releases nobody) by its own 3s timeout.
  CHECK(wait_until([&] { return log.size() == 3; }));
  for (auto& t : waiters) t.join();
  int closed = 0, timed_out = 0;
  for (auto& [who, got] : log.copy()) {
    closed += got.status == Wait::closed;
    timed_out += got.status == Wait::timeout;
  }
  if (host.close_releases_waiters) {
    CHECK_MESSAGE(closed == 2, "close should wake both blocked waiters with 'closed'");
  } else {
    MESSAGE(host.name, " does not wake threads blocked on a port it closes: they wait out their timeout");
    CHECK(timed_out == 2);
  }
}
// [/snippet test-close]

TEST_CASE_TEMPLATE("after close, queued packets are gone and get() says closed", P, EVQ_PORTS) {
  say_host<P>();
  P port(1);
  for (std::uint64_t k = 1; k <= 5; ++k) port.post(k);
  port.close();
  CHECK(port.get(0ms).status == Wait::closed);
  CHECK(port.get(kDeadline).status == Wait::closed);  // at once, not after the deadline
}
