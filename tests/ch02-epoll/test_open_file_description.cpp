// epoll(7), "Questions and answers" 6: epoll watches the open file description, keyed by
// (file, fd number). Closing an fd removes the entry only when no other fd refers to that file.
#include <unistd.h>

#include "ch02_test.hpp"
#include "evq/common/error.hpp"
#include "evq/common/net.hpp"

using namespace evq;
using namespace evq::epoll;
using namespace evq::epoll::test;

TEST_CASE(
    "events keep coming for a closed fd whose file was dup'd: epoll watches the open file description") {
  Poll poll;
  TcpPair pair = tcp_pair();
  int registered = pair.server.get();
  UniqueFd duplicate(check(::dup(registered), "dup"));
  poll.registry().add(registered, 42, EPOLLIN);
  pair.server.reset();  // close the registered fd number; the dup keeps the file open

  write_all(pair.client.get(), "ghost");
  auto events = next_events(poll);
  REQUIRE_MESSAGE(events.size() == 1, "the entry survives the close of the fd it was added with");
  CHECK(events[0].token == 42);

  SUBCASE("it cannot be removed through the closed number (EBADF)...") {
    try {
      poll.registry().remove(registered);
      FAIL("removing through a closed fd number succeeded");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::bad_file_descriptor);
    }
  }
  SUBCASE("...nor through the dup, which was never registered (ENOENT)") {
    try {
      poll.registry().remove(duplicate.get());
      FAIL("removing through the dup succeeded");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::no_such_file_or_directory);
    }
  }
  SUBCASE("closing the last fd of the file finally removes the entry") {
    duplicate.reset();
    CHECK_MESSAGE(ready_now(poll).empty(), "no fd is left open on the file, so neither is the entry");
  }
}

TEST_CASE("remove before close: with EPOLL_CTL_DEL first, a dup'd socket is silent") {
  Poll poll;
  TcpPair pair = tcp_pair();
  UniqueFd duplicate(check(::dup(pair.server.get()), "dup"));
  poll.registry().add(pair.server.get(), 42, EPOLLIN);
  poll.registry().remove(pair.server.get());
  pair.server.reset();
  write_all(pair.client.get(), "quiet");
  CHECK(ready_now(poll).empty());
  CHECK(read_exact(duplicate.get(), 5) == "quiet");
}

TEST_CASE("the same file may be registered twice under different fd numbers") {
  Poll poll;
  TcpPair pair = tcp_pair();
  UniqueFd duplicate(check(::dup(pair.server.get()), "dup"));
  poll.registry().add(pair.server.get(), 1, EPOLLIN);
  poll.registry().add(duplicate.get(), 2, EPOLLIN);  // not EEXIST: the key is (file, fd)
  write_all(pair.client.get(), "x");
  REQUIRE(evq::test::wait_until([&] { return ready_now(poll).size() == 2; }));
}
