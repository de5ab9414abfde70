// read_some / write_some / try_accept: the answers a readiness loop acts on.
#include <sys/resource.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "ch02_test.hpp"
#include "evq/common/accept_pause.hpp"
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
  REQUIRE(evq::test::wait_until(
      [&] { return (w = write_some(pair.server.get(), b)).status == IoResult::Status::failed; }));
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

namespace {
// Runs this process out of descriptors for a while: lowers RLIMIT_NOFILE to just above the highest
// descriptor open and fills every free number below it with dup()s; the destructor undoes both.
class OutOfDescriptors {
 public:
  OutOfDescriptors() {
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
    // The limit is on descriptor numbers: just above the highest open one, and the dup()s below
    // take every free number under it, holes included.
    int highest = 0;
    for (int fd = 0; fd < 4096; ++fd)
      if (::fcntl(fd, F_GETFD) >= 0) highest = fd;
    rlimit lowered = saved_;
    lowered.rlim_cur = static_cast<rlim_t>(highest + 8);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
    for (int fd; (fd = ::dup(0)) >= 0;) fillers_.emplace_back(fd);  // until EMFILE
    REQUIRE_MESSAGE(errno == EMFILE, "dup() should stop with EMFILE, not " << std::strerror(errno));
  }
  ~OutOfDescriptors() {
    fillers_.clear();
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  void free_one() { fillers_.pop_back(); }

 private:
  rlimit saved_{};
  std::vector<UniqueFd> fillers_;
};
}  // namespace

TEST_CASE("try_accept out of descriptors answers machine_full, and the connection stays queued") {
  UniqueFd listener = listen_loopback(Family::v4, 16, /*nonblocking=*/true);
  UniqueFd client = connect_loopback(local_port(listener.get()));
  OutOfDescriptors full;
  AcceptResult a = try_accept(listener.get());
  REQUIRE_MESSAGE(
      a.status == AcceptResult::Status::machine_full,
      "with no descriptor left, accept4 fails with EMFILE: that is machine_full, not an exception");
  CHECK(a.error == std::errc::too_many_files_open);
  full.free_one();  // one descriptor frees up: the same connection is still there to take
  a = try_accept(listener.get());
  CHECK_MESSAGE(a.status == AcceptResult::Status::accepted,
                "EMFILE must not consume the waiting connection: once a descriptor is free it is accepted");
}

TEST_CASE("AcceptPause: one episode per run of failures, one retry at a time, every 100 ms") {
  using Clock = AcceptPause::Clock;
  AcceptPause pause;
  const auto t0 = Clock::now();
  const auto full = std::make_error_code(std::errc::too_many_files_open);
  CHECK_FALSE(pause.paused());
  CHECK_FALSE(pause.time_left(t0).has_value());
  CHECK_MESSAGE(pause.begin(full, t0), "the first failure starts an episode (tell the reader once)");
  CHECK(pause.time_left(t0) == AcceptPause::kRetry);
  CHECK_FALSE_MESSAGE(pause.take_retry(t0 + 50ms), "no retry before 100 ms");
  CHECK_MESSAGE(pause.take_retry(t0 + 100ms), "the retry is due after 100 ms");
  CHECK_FALSE_MESSAGE(pause.take_retry(t0 + 200ms), "only one caller takes a retry");
  CHECK_FALSE_MESSAGE(pause.time_left(t0 + 200ms).has_value(),
                      "while a retry is out, no timeout is asked for");
  CHECK_FALSE_MESSAGE(pause.begin(full, t0 + 200ms), "a failed retry is the same episode, not a new one");
  CHECK(pause.time_left(t0 + 250ms) == 50ms);
  CHECK(pause.end() == 1);  // the episode took one retry
  CHECK_FALSE(pause.paused());
  CHECK(pause.episodes() == 1);
  CHECK(pause.begin(full, t0 + 300ms));  // a later failure is a new episode
  CHECK(pause.episodes() == 2);
}
