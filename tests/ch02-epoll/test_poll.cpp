// The Poll/Registry/Events wrapper: what a reader relies on in every later test.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "ch02_test.hpp"
#include "evq/common/error.hpp"
#include "evq/common/net.hpp"

using namespace evq;
using namespace evq::epoll;
using namespace evq::epoll::test;

TEST_CASE("a ready fd is reported with the token it was registered with") {
  Poll poll;
  TcpPair a = tcp_pair();
  TcpPair b = tcp_pair();
  poll.registry().add(a.server.get(), 111, EPOLLIN);
  poll.registry().add(b.server.get(), 222, EPOLLIN);
  write_all(b.client.get(), "x");
  auto events = next_events(poll);
  REQUIRE_MESSAGE(events.size() == 1, "only b has data, got " << names(events));
  CHECK(events[0].token == 222);
  CHECK(events[0].readable());
}

TEST_CASE("epoll_wait returns no events when nothing is ready and the timeout passes") {
  Poll poll;
  TcpPair pair = tcp_pair();
  poll.registry().add(pair.server.get(), 1, EPOLLIN);
  Events events(4);
  CHECK(poll.wait(events, 0ms) == 0);
  CHECK(poll.wait(events, 20ms) == 0);
  CHECK(events.empty());
}

TEST_CASE("the event buffer caps how many events one wait returns, the rest wait for the next") {
  Poll poll;
  TcpPair pairs[3] = {tcp_pair(), tcp_pair(), tcp_pair()};
  for (int i = 0; i < 3; ++i) {
    poll.registry().add(pairs[i].server.get(), static_cast<Token>(i), EPOLLIN);
    write_all(pairs[i].client.get(), "x");
  }
  REQUIRE(evq::test::wait_until([&] { return ready_now(poll).size() == 3; }));
  Events two(2);
  CHECK(poll.wait(two, 0ms) == 2);
  CHECK(two.size() == 2);
}

TEST_CASE("modify replaces both the interest and the token") {
  Poll poll;
  TcpPair pair = tcp_pair();
  poll.registry().add(pair.server.get(), 1, EPOLLIN);
  CHECK(ready_now(poll).empty());
  poll.registry().modify(pair.server.get(), 2, EPOLLOUT);  // a fresh socket is writable
  auto events = next_events(poll);
  REQUIRE(events.size() == 1);
  CHECK(events[0].token == 2);
  CHECK(events[0].writable());
  poll.registry().remove(pair.server.get());
  CHECK_MESSAGE(ready_now(poll).empty(), "a removed fd must not be reported");
}

TEST_CASE("epoll_ctl errors are std::system_error naming the call and keeping errno") {
  Poll poll;
  TcpPair pair = tcp_pair();
  int fd = pair.server.get();
  poll.registry().add(fd, 1, EPOLLIN);
  SUBCASE("adding twice is EEXIST") {
    try {
      poll.registry().add(fd, 1, EPOLLIN);
      FAIL("the second add should have thrown");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::file_exists);
      CHECK_MESSAGE(std::string(e.what()).find("epoll_ctl(EPOLL_CTL_ADD") != std::string::npos, e.what());
    }
  }
  SUBCASE("modifying an fd never added is ENOENT") {
    TcpPair other = tcp_pair();
    try {
      poll.registry().modify(other.server.get(), 1, EPOLLIN);
      FAIL("modify should have thrown");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::no_such_file_or_directory);
    }
  }
  SUBCASE("a closed fd is EBADF") {
    int closed = ::dup(fd);
    UniqueFd(closed).reset();
    CHECK_THROWS_AS(poll.registry().add(closed, 1, EPOLLIN), std::system_error);
  }
}

TEST_CASE("a regular file cannot be watched: epoll_ctl fails with EPERM") {
  // Files are always "ready", so epoll refuses them; file I/O needs io_uring or threads (chapter 4).
  char path[] = "/tmp/evq-ch02-XXXXXX";
  UniqueFd file(check(::mkstemp(path), "mkstemp"));
  ::unlink(path);
  Poll poll;
  try {
    poll.registry().add(file.get(), 1, EPOLLIN);
    FAIL("epoll_ctl accepted a regular file");
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::errc::operation_not_permitted);
  }
}

TEST_CASE("describe names event bits for narration and messages") {
  CHECK(describe(EPOLLIN | EPOLLET) == "EPOLLIN|EPOLLET");
  CHECK(describe(0) == "0");
  CHECK(describe(EPOLLOUT | (1u << 20)) == "EPOLLOUT|0x100000");
}

// epoll_wait takes an int of milliseconds: a longer timeout must be clamped, not wrapped into a
// negative number (which means "for ever" only by luck) or into a small positive one.
TEST_CASE("Poll::wait with a timeout of any length waits for the event, never wraps") {
  for (auto timeout : {std::chrono::milliseconds::max(), std::chrono::milliseconds(10'000'000'000'000),
                       std::chrono::milliseconds(4'294'967'297)}) {  // 2^32 + 1: wraps to 1 ms as an int
    CAPTURE(timeout.count());
    Poll poll;
    TcpPair p = tcp_pair();
    poll.registry().add(p.server.get(), 5, EPOLLIN);
    std::thread writer([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // after the wait below has begun
      write_all(p.client.get(), "x");
    });
    Events events(4);
    std::size_t n = poll.wait(events, timeout);
    writer.join();
    CHECK_MESSAGE(n == 1, "a wait of " << timeout.count()
                                       << " ms should last until the data arrives; it returned " << n
                                       << " events");
  }
}
