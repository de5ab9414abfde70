// Lab "buffered_writer": queue what the socket cannot take, send it on EPOLLOUT, keep the order.
#include <sys/socket.h>
#include <sys/time.h>

#include <thread>
#include <vector>

#include "evq/common/net.hpp"
#include "evq/epoll/lab/buffered_writer.hpp"
#include "evq/epoll/poll.hpp"
#include "evq/test/support.hpp"

using namespace evq;
using namespace evq::epoll;
using namespace evq::epoll::lab;
using namespace std::chrono_literals;

namespace {

// Bytes that differ at every position, so a reordering or a lost chunk is caught.
std::vector<std::byte> pattern(std::size_t size, unsigned seed) {
  std::vector<std::byte> out(size);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : out) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<std::byte>(x >> 24);
  }
  return out;
}

// Our writer end is non-blocking; the reader end stays blocking, with a receive timeout so a
// writer that never sends fails the test instead of hanging it, and a small fixed receive buffer
// so that a few MiB never fit in the kernel's buffers whatever the machine's autotuning allows.
TcpPair make_pair() {
  TcpPair pair = tcp_pair();
  set_nonblocking(pair.server.get());
  set_receive_timeout(pair.client.get(), 10'000);
  int small = 64 * 1024;
  ::setsockopt(pair.client.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  return pair;
}

// The edge-triggered loop a server runs: wait for EPOLLOUT, call on_writable, until all is sent.
bool drain_with_epoll(Poll& poll, BufferedWriter& out) {
  auto deadline = std::chrono::steady_clock::now() + evq::test::kDeadline;
  Events events(4);
  while (out.queued() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    poll.wait(events, 50ms);
    for (Event e : events)
      if (e.writable()) out.on_writable();
  }
  return true;
}

// Reads what has arrived without waiting for more; returns the bytes read.
std::size_t read_available(int fd, std::span<std::byte> into) {
  std::size_t got = 0;
  while (got < into.size()) {
    ssize_t n = ::recv(fd, into.data() + got, into.size() - got, MSG_DONTWAIT);
    if (n <= 0) break;  // EAGAIN: nothing more has arrived (an error shows up as missing bytes)
    got += static_cast<std::size_t>(n);
  }
  return got;
}

std::size_t first_difference(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

TEST_CASE("a small write goes straight to the socket and nothing is queued [1 pt]") {
  TcpPair pair = make_pair();
  BufferedWriter out(pair.server.get());
  CHECK(out.write("hello") == 5);
  CHECK(out.queued() == 0);
  CHECK(read_exact(pair.client.get(), 5) == "hello");
  CHECK_MESSAGE(out.on_writable() == 0, "with nothing queued, on_writable sends nothing");
}

TEST_CASE("what the socket cannot take is queued, not lost and not waited for [2 pts]") {
  TcpPair pair = make_pair();
  BufferedWriter out(pair.server.get());
  auto big = pattern(8 << 20, 1);  // far more than the socket buffers hold
  std::size_t now = out.write(big);
  CHECK_MESSAGE(now < big.size(), "the peer reads nothing, so not all 8 MiB can be sent at once");
  CHECK(now > 0);
  CHECK(out.queued() == big.size() - now);
  // The peer still reads nothing. The kernel may have found a little room since (segments move
  // from our send buffer to the peer's receive buffer in the background), so on_writable may send
  // some, but it must return with the rest still queued and the count must add up.
  std::size_t more = out.on_writable();
  CHECK(out.queued() > 0);
  CHECK_MESSAGE(out.queued() == big.size() - now - more, "queued() must drop by what on_writable sent");
}

TEST_CASE("edge-triggered EPOLLOUT drives the queue to empty and every byte arrives in order [3 pts]") {
  TcpPair pair = make_pair();
  Poll poll;
  poll.registry().add(pair.server.get(), 1, EPOLLOUT | EPOLLET);
  BufferedWriter out(pair.server.get());
  auto first = pattern(3 << 20, 2);
  auto second = pattern(1 << 20, 3);
  std::vector<std::byte> expected = first;
  expected.insert(expected.end(), second.begin(), second.end());
  // Then many small chunks, each of which fits at once. Edge-triggered epoll reports EPOLLOUT again
  // only after a send found the socket full, so an on_writable() that sends one chunk and returns
  // leaves the rest queued with no edge to come: it must keep sending until EAGAIN or empty.
  std::vector<std::vector<std::byte>> small;
  for (unsigned i = 0; i < 256; ++i) {
    small.push_back(pattern(1024, 100 + i));
    expected.insert(expected.end(), small.back().begin(), small.back().end());
  }

  out.write(first);
  out.write(second);
  for (const auto& chunk : small) out.write(chunk);
  // One thread plays both sides, turn by turn, as a server's loop would meet them: the peer reads
  // what has arrived, then the loop waits once and calls on_writable() for each EPOLLOUT.
  std::vector<std::byte> received(expected.size());
  std::size_t got = 0;
  Events events(4);
  auto deadline = std::chrono::steady_clock::now() + evq::test::kDeadline;
  while (got < expected.size() && std::chrono::steady_clock::now() < deadline) {
    got += read_available(pair.client.get(), std::span(received).subspan(got));
    poll.wait(events, 20ms);
    for (Event e : events)
      if (e.writable()) out.on_writable();
  }
  CHECK_MESSAGE(out.queued() == 0,
                "still queued after the deadline: "
                    << out.queued()
                    << " bytes (does on_writable() stop before EAGAIN? no other EPOLLOUT edge comes)");
  REQUIRE_MESSAGE(got == expected.size(), "the reader got " << got << " of " << expected.size() << " bytes");
  CHECK_MESSAGE(received == expected,
                "the bytes differ from offset " << first_difference(received, expected));
}

TEST_CASE("a write while bytes are queued goes behind them, even when the socket has room again [3 pts]") {
  TcpPair pair = make_pair();
  Poll poll;
  poll.registry().add(pair.server.get(), 1, EPOLLOUT | EPOLLET);
  BufferedWriter out(pair.server.get());
  auto head = pattern(8 << 20, 4);
  std::size_t sent_now = out.write(head);
  REQUIRE(out.queued() > 0);
  // The peer reads part of what was sent: the socket has room again, but output is still queued.
  std::vector<std::byte> received(head.size() + 4);
  std::size_t first_part = sent_now / 2;
  REQUIRE(read_exact(pair.client.get(), std::span(received).first(first_part)) == first_part);
  out.write("TAIL");  // must not overtake the queued part of `head`
  std::size_t got = first_part;
  std::jthread reader([&] { got += read_exact(pair.client.get(), std::span(received).subspan(first_part)); });
  bool drained = drain_with_epoll(poll, out);
  reader.join();
  CHECK(drained);
  std::vector<std::byte> expected = head;
  for (char c : std::string_view("TAIL")) expected.push_back(static_cast<std::byte>(c));
  REQUIRE(got == expected.size());
  CHECK_MESSAGE(received == expected, "out of order from offset " << first_difference(received, expected)
                                                                  << " (\"TAIL\" belongs at " << head.size()
                                                                  << ")");
}

TEST_CASE("a reset peer makes write and on_writable throw std::system_error, never crash [1 pt]") {
  TcpPair pair = make_pair();
  BufferedWriter out(pair.server.get());
  auto big = pattern(8 << 20, 5);
  out.write(big);
  REQUIRE(out.queued() > 0);
  set_linger_reset(pair.client.get());
  pair.client.reset();  // RST
  bool threw = evq::test::wait_until([&] {
    try {
      out.on_writable();
      out.write("more");
      return false;
    } catch (const std::system_error& e) {
      return e.code() == std::errc::connection_reset || e.code() == std::errc::broken_pipe;
    }
  });
  CHECK_MESSAGE(threw, "expected std::system_error with ECONNRESET or EPIPE once the peer reset");
}
