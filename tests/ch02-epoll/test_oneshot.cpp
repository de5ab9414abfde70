// EPOLLONESHOT: one event, then silence until the owner re-arms. EPOLLEXCLUSIVE: its rules.
#include "ch02_test.hpp"
#include "evq/common/net.hpp"

using namespace evq;
using namespace evq::epoll;
using namespace evq::epoll::test;

TEST_CASE("EPOLLONESHOT disarms after one event until re-armed with EPOLL_CTL_MOD") {
  Poll poll;
  TcpPair pair = tcp_pair();
  poll.registry().add(pair.server.get(), 5, EPOLLIN | EPOLLONESHOT);
  write_all(pair.client.get(), "one");
  REQUIRE(next_events(poll).size() == 1);

  write_all(pair.client.get(), "two");  // more data, still unread: level-triggered would report it
  CHECK_MESSAGE(ready_now(poll).empty(), "a disarmed entry reports nothing, even with data waiting");

  poll.registry().modify(pair.server.get(), 5, EPOLLIN | EPOLLONESHOT);  // re-arm
  auto events = next_events(poll);
  REQUIRE_MESSAGE(events.size() == 1, "the re-armed entry reports the data that waited");
  CHECK(events[0].token == 5);
  CHECK_MESSAGE(ready_now(poll).empty(), "and it is disarmed again after that one event");
}

TEST_CASE("EPOLLONESHOT: a disarmed fd is still registered, so adding it again is EEXIST") {
  Poll poll;
  TcpPair pair = tcp_pair();
  poll.registry().add(pair.server.get(), 5, EPOLLIN | EPOLLONESHOT);
  write_all(pair.client.get(), "x");
  REQUIRE(next_events(poll).size() == 1);
  try {
    poll.registry().add(pair.server.get(), 5, EPOLLIN | EPOLLONESHOT);
    FAIL("re-adding a disarmed fd should fail: re-arm with EPOLL_CTL_MOD");
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::errc::file_exists);
  }
}

TEST_CASE("EPOLLEXCLUSIVE is only for EPOLL_CTL_ADD and does not combine with EPOLLONESHOT") {
  Poll poll;
  UniqueFd listener = listen_loopback();
  poll.registry().add(listener.get(), 1, EPOLLIN | EPOLLEXCLUSIVE);
  SUBCASE("modify with EPOLLEXCLUSIVE is EINVAL") {
    try {
      poll.registry().modify(listener.get(), 1, EPOLLIN | EPOLLEXCLUSIVE);
      FAIL("EPOLL_CTL_MOD accepted EPOLLEXCLUSIVE");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::invalid_argument);
    }
  }
  SUBCASE("EPOLLEXCLUSIVE|EPOLLONESHOT is EINVAL") {
    Poll other;
    try {
      other.registry().add(listener.get(), 1, EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT);
      FAIL("EPOLL_CTL_ADD accepted EPOLLEXCLUSIVE|EPOLLONESHOT");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::invalid_argument);
    }
  }
  SUBCASE("an exclusive entry still reports readiness to a wait") {
    UniqueFd client = connect_loopback(local_port(listener.get()));
    auto events = next_events(poll);
    REQUIRE(events.size() == 1);
    CHECK(events[0].readable());
  }
}
