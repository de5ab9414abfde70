// Level- versus edge-triggered: the one idea the rest of the chapter depends on.
#include "ch02_test.hpp"
#include "evq/common/net.hpp"

using namespace evq;
using namespace evq::epoll;
using namespace evq::epoll::test;

TEST_CASE("level-triggered: unread data is reported by every wait until it is read") {
  Poll poll;
  TcpPair pair = tcp_pair();
  poll.registry().add(pair.server.get(), 7, EPOLLIN);
  write_all(pair.client.get(), "hello");
  REQUIRE(next_events(poll).size() == 1);
  for (int again = 0; again < 3; ++again) {
    auto events = ready_now(poll);
    CHECK_MESSAGE(events.size() == 1, "wait #" << again + 2 << " should report the unread data again");
  }
  CHECK(read_exact(pair.server.get(), 5) == "hello");
  CHECK_MESSAGE(ready_now(poll).empty(), "once read, nothing is ready");
}

TEST_CASE("edge-triggered: an arrival is reported once, however much is left unread") {
  Poll poll;
  TcpPair pair = tcp_pair();
  poll.registry().add(pair.server.get(), 7, EPOLLIN | EPOLLET);
  write_all(pair.client.get(), "hello");
  auto first = next_events(poll);
  REQUIRE(first.size() == 1);
  CHECK(first[0].readable());
  auto second = ready_now(poll);
  CHECK_MESSAGE(second.empty(), "EPOLLET reports the change, not the state; got " << names(second));
}

TEST_CASE("edge-triggered: a partial read strands data until the next arrival (drain to EAGAIN)") {
  Poll poll;
  TcpPair pair = tcp_pair();
  set_nonblocking(pair.server.get());
  poll.registry().add(pair.server.get(), 7, EPOLLIN | EPOLLET);
  write_all(pair.client.get(), "0123456789");
  REQUIRE(next_events(poll).size() == 1);
  CHECK(read_exact(pair.server.get(), 4) == "0123");  // read only part of it...
  CHECK_MESSAGE(ready_now(poll).empty(), "...and the six bytes left are never reported on their own");
  write_all(pair.client.get(), "!");  // new data is a new edge
  auto events = next_events(poll);
  REQUIRE(events.size() == 1);
  CHECK(read_exact(pair.server.get(), 7) == "456789!");
}

TEST_CASE("edge-triggered: EPOLL_CTL_MOD re-evaluates readiness and reports pending data again") {
  // The escape hatch: after a partial read, a MOD with the same interest makes epoll look again.
  Poll poll;
  TcpPair pair = tcp_pair();
  poll.registry().add(pair.server.get(), 7, EPOLLIN | EPOLLET);
  write_all(pair.client.get(), "abc");
  REQUIRE(next_events(poll).size() == 1);
  REQUIRE(ready_now(poll).empty());
  poll.registry().modify(pair.server.get(), 7, EPOLLIN | EPOLLET);
  CHECK(ready_now(poll).size() == 1);
}

TEST_CASE("level-triggered EPOLLOUT reports a writable socket on every wait: register it only while needed") {
  Poll poll;
  TcpPair pair = tcp_pair();
  poll.registry().add(pair.server.get(), 7, EPOLLOUT);
  for (int i = 0; i < 3; ++i) {
    auto events = ready_now(poll);
    REQUIRE(events.size() == 1);
    CHECK(events[0].writable());
  }
}
