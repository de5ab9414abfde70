// The eventfd that lets stop() reach a thread blocked in epoll_wait.
#include <atomic>
#include <thread>

#include "ch02_test.hpp"
#include "evq/epoll/wakeup.hpp"

using namespace evq;
using namespace evq::epoll;
using namespace evq::epoll::test;

TEST_CASE("notify() from another thread ends a blocking epoll_wait, and drain() resets it") {
  Poll poll;
  Wakeup wakeup;
  poll.registry().add(wakeup.fd(), 9, EPOLLIN);
  CHECK(ready_now(poll).empty());
  std::atomic<bool> woke{false};
  std::jthread waiter([&] {
    auto events = next_events(poll);  // blocks up to the test deadline
    woke = events.size() == 1 && events[0].token == 9;
  });
  wakeup.notify();
  waiter.join();
  CHECK_MESSAGE(woke.load(), "the waiter should have seen the eventfd's token");
  CHECK_MESSAGE(ready_now(poll).size() == 1, "undrained, the eventfd stays readable (level-triggered)");
  CHECK(wakeup.drain());
  CHECK(ready_now(poll).empty());
  CHECK_FALSE(wakeup.drain());
}
