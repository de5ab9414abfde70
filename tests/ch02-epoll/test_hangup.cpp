// How epoll tells a half-close (EPOLLRDHUP) from a reset (EPOLLERR|EPOLLHUP).
#include <unistd.h>

#include "ch02_test.hpp"
#include "evq/common/net.hpp"
#include "evq/epoll/nonblocking.hpp"

using namespace evq;
using namespace evq::epoll;
using namespace evq::epoll::test;

namespace {
// Waits until an event with all of `bits` arrives for the only registered fd.
std::uint32_t wait_for_bits(Poll& poll, std::uint32_t bits) {
  std::uint32_t seen = 0;
  evq::test::wait_until([&] {
    for (const Event& e : wait_events(poll, 10ms)) seen = e.flags;
    return (seen & bits) == bits;
  });
  return seen;
}
}  // namespace

TEST_CASE(
    "EPOLLRDHUP reports a half-close, and the data before it is still readable and we can still write") {
  Poll poll;
  TcpPair pair = tcp_pair();
  set_nonblocking(pair.server.get());
  poll.registry().add(pair.server.get(), 1, EPOLLIN | EPOLLRDHUP);
  write_all(pair.client.get(), "last words");
  shutdown_write(pair.client.get());

  std::uint32_t flags = wait_for_bits(poll, EPOLLIN | EPOLLRDHUP);
  INFO("reported: " << describe(flags));
  CHECK((flags & EPOLLRDHUP) != 0);
  CHECK_MESSAGE((flags & EPOLLHUP) == 0, "a half-close is not a hang-up: our direction is still open");

  std::byte buffer[64];
  IoResult r = read_some(pair.server.get(), buffer);
  REQUIRE(r.done());
  CHECK(r.bytes == 10);
  CHECK(read_some(pair.server.get(), buffer).status == IoResult::Status::closed);

  write_all(pair.server.get(), "reply");  // the other direction still works
  CHECK(read_exact(pair.client.get(), 5) == "reply");
}

TEST_CASE("without EPOLLRDHUP a half-close shows only as EPOLLIN, and the read returns 0") {
  Poll poll;
  TcpPair pair = tcp_pair();
  poll.registry().add(pair.server.get(), 1, EPOLLIN);
  shutdown_write(pair.client.get());
  std::uint32_t flags = wait_for_bits(poll, EPOLLIN);
  CHECK_MESSAGE((flags & EPOLLRDHUP) == 0, "not asked for, not reported: " << describe(flags));
  std::byte b[1];
  CHECK(read_some(pair.server.get(), b).status == IoResult::Status::closed);
}

TEST_CASE("a reset peer is reported as EPOLLERR|EPOLLHUP even with an interest set of 0") {
  // EPOLLERR and EPOLLHUP are always reported: a registration cannot opt out of them.
  Poll poll;
  TcpPair pair = tcp_pair();
  set_nonblocking(pair.server.get());
  poll.registry().add(pair.server.get(), 1, 0);
  set_linger_reset(pair.client.get());
  pair.client.reset();  // close with SO_LINGER 0: sends RST

  std::uint32_t flags = wait_for_bits(poll, EPOLLERR | EPOLLHUP);
  INFO("reported: " << describe(flags));
  CHECK((flags & EPOLLERR) != 0);
  CHECK((flags & EPOLLHUP) != 0);

  std::byte b[1];
  IoResult r = read_some(pair.server.get(), b);
  CHECK(r.status == IoResult::Status::failed);
  CHECK(r.error == std::errc::connection_reset);
}
