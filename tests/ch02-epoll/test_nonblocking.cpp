// read_some / write_some / try_accept: the answers a readiness loop acts on.
#include "ch02_test.hpp"
#include "evq/common/net.hpp"
#include "evq/epoll/nonblocking.hpp"

using namespace evq;
using namespace evq::epoll;
using namespace evq::epoll::test;

TEST_CASE("read_some on an empty non-blocking socket is would_block, not an error") {
  TcpPair pair = tcp_pair();
  set_nonblocking(pair.server.get());
  std::byte b[8];
  CHECK(read_some(pair.server.get(), b).would_block());
  write_all(pair.client.get(), "abc");
  IoResult r{};
  REQUIRE(evq::test::wait_until([&] { return (r = read_some(pair.server.get(), b)).done(); }));
  CHECK(r.bytes == 3);
}

TEST_CASE("write_some fills the socket buffers and then answers would_block") {
  TcpPair pair = tcp_pair();
  set_nonblocking(pair.server.get());
  std::vector<std::byte> chunk(64 * 1024);
  std::size_t total = 0;
  IoResult w;
  for (int i = 0; i < 10000 && (w = write_some(pair.server.get(), chunk)).done(); ++i) total += w.bytes;
  CHECK_MESSAGE(w.would_block(), "the peer never reads, so the buffers must fill; wrote " << total);
  CHECK(total > 0);
}

TEST_CASE("write_some to a reset peer fails with EPIPE or ECONNRESET, and no SIGPIPE kills us") {
  TcpPair pair = tcp_pair();
  set_nonblocking(pair.server.get());
  set_linger_reset(pair.client.get());
  pair.client.reset();
  std::byte b[16]{};
  IoResult w;
  REQUIRE(evq::test::wait_until([&] { return (w = write_some(pair.server.get(), b)).status == IoResult::Status::failed; }));
  CHECK((w.error == std::errc::broken_pipe || w.error == std::errc::connection_reset));
}

TEST_CASE("try_accept: would_block on an empty queue, then the connection, non-blocking") {
  UniqueFd listener = listen_loopback(Family::v4, 16, /*nonblocking=*/true);
  CHECK(try_accept(listener.get()).status == AcceptResult::Status::would_block);
  UniqueFd client = connect_loopback(local_port(listener.get()));
  AcceptResult a;
  REQUIRE(evq::test::wait_until([&] {
    a = try_accept(listener.get());
    return a.status == AcceptResult::Status::accepted;
  }));
  std::byte b[1];
  CHECK_MESSAGE(read_some(a.fd.get(), b).would_block(), "accepted sockets are non-blocking");
}

TEST_CASE("try_accept on something that is not a listener throws, naming accept4") {
  TcpPair pair = tcp_pair();
  CHECK_THROWS_WITH_AS(try_accept(pair.server.get()), doctest::Contains("accept4"), std::system_error);
}
