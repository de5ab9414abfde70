// The conformance suite: the definition of a correct backend. Every case runs on the backend this
// program was built for (EVQ_CONFORMANCE_BACKEND), and every backend runs the same cases.
#include "conformance.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "evq/test/support.hpp"
#include "peer.hpp"

using namespace evq::completion;
using namespace evq::completion::test;
using namespace std::chrono_literals;

namespace {

// Collects `count` completions, or fewer if the deadline passes first (the test then fails on the
// count, with what did arrive in its INFO).
std::vector<Completion> reap(CompletionQueue& queue, std::size_t count,
                             std::chrono::milliseconds deadline = evq::test::kDeadline) {
  std::vector<Completion> got;
  Completion batch[16];
  auto until = std::chrono::steady_clock::now() + deadline;
  while (got.size() < count && std::chrono::steady_clock::now() < until) {
    std::size_t n = queue.wait(std::span(batch).first(std::min<std::size_t>(16, count - got.size())), 50ms);
    for (std::size_t i = 0; i < n; ++i) got.push_back(std::move(batch[i]));
  }
  return got;
}

// Whether any completion arrives within a short look (used to show that nothing more comes).
std::size_t stray_completions(CompletionQueue& queue) {
  Completion batch[4];
  std::size_t total = 0;
  for (int i = 0; i < 4; ++i) total += queue.wait(batch, 25ms);
  return total;
}

std::span<std::byte> bytes_of(std::string& s) {
  return std::as_writable_bytes(std::span(s));
}

struct SocketsReady {
  SocketsReady() { loopback::init(); }
};
const SocketsReady sockets_ready;

}  // namespace

#define CONFORMANCE_CASE(name) TEST_CASE_TEMPLATE(name, Q, EVQ_CONFORMANCE_BACKEND)
#define OPEN_QUEUE_OR_SKIP()          \
  auto queue_ptr = open_or_skip<Q>(); \
  if (!queue_ptr) return;             \
  CompletionQueue& queue = *queue_ptr

// [snippet test-lent-buffer]
CONFORMANCE_CASE("a read completes with the bytes in the lent buffer") {
  OPEN_QUEUE_OR_SKIP();
  Pair pair = tcp_pair();
  queue.attach(pair.server.get());
  std::string buffer(64, '.');
  queue.read(pair.server.get(), bytes_of(buffer), 7);
  send_all(pair.client.get(), "hello");
  auto done = reap(queue, 1);
  REQUIRE(done.size() == 1);
  CHECK(done[0].op == Op::read);
  CHECK(done[0].user_data == 7);
  CHECK_MESSAGE(!done[0].error, done[0].error.message());
  REQUIRE(done[0].bytes == 5);
  CHECK(buffer.substr(0, 6) == "hello.");  // the queue wrote exactly the bytes it reported
  CHECK(queue.pending() == 0);
  queue.detach(pair.server.get());
}
// [/snippet test-lent-buffer]

// A readiness backend may skip the syscall of a read that follows a short one (the socket is then
// known drained) and wait for the next edge instead. Each way the next data can come must still
// complete that read: after the read is issued; before it, with the edge not yet seen; and before
// it, with the edge already seen by a wait() that had nothing else to do.
CONFORMANCE_CASE("after a short read, the next read completes however its data arrives") {
  OPEN_QUEUE_OR_SKIP();
  Pair pair = tcp_pair();
  queue.attach(pair.server.get());
  std::string buffer(64, '.');
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20; ++i) {
      const std::string message = "round " + std::to_string(round) + " message " + std::to_string(i);
      if (round == 0) {  // 0: the data comes after the read is issued
        queue.read(pair.server.get(), bytes_of(buffer), 1);
        send_all(pair.client.get(), message);
      } else {
        send_all(pair.client.get(), message);
        REQUIRE(readable_within(pair.server.get(), 10000));  // it is in the server's receive buffer
        Completion none[1];
        if (round == 2) CHECK(queue.wait(none, 20ms) == 0);  // 2: a wait sees the edge, with no read to drive
        queue.read(pair.server.get(), bytes_of(buffer), 1);
      }
      auto done = reap(queue, 1);
      INFO("round " << round << " (0: data after the read; 1: before it; 2: before it, edge seen), message "
                    << i);
      REQUIRE_MESSAGE(done.size() == 1, "the read never completed: a lost edge");
      CHECK_MESSAGE(!done[0].error, done[0].error.message());
      CHECK(buffer.substr(0, done[0].bytes) == message);  // short: 64 bytes asked, fewer came
    }
  }
  // The last bytes and the end of stream arrive together: the short read that takes the bytes is
  // not followed by any new edge, yet the next read must still see the end of stream.
  send_all(pair.client.get(), "last");
  half_close(pair.client.get());
  REQUIRE(readable_within(pair.server.get(), 10000));
  Completion none[1];
  CHECK(queue.wait(none, 20ms) == 0);  // the edge that carried the end of stream is seen here
  queue.read(pair.server.get(), bytes_of(buffer), 2);
  auto last = reap(queue, 1);
  REQUIRE(last.size() == 1);
  CHECK(buffer.substr(0, last[0].bytes) == "last");
  queue.read(pair.server.get(), bytes_of(buffer), 3);
  auto end = reap(queue, 1);
  REQUIRE_MESSAGE(end.size() == 1, "the end of stream that came with the last bytes was never reported");
  CHECK(end[0].end_of_stream());
  CHECK(queue.pending() == 0);
  queue.detach(pair.server.get());
}

CONFORMANCE_CASE("end of stream is a read that completes with 0 bytes and no error") {
  OPEN_QUEUE_OR_SKIP();
  Pair pair = tcp_pair();
  queue.attach(pair.server.get());
  std::string buffer(16, '.');
  queue.read(pair.server.get(), bytes_of(buffer), 1);
  half_close(pair.client.get());
  auto done = reap(queue, 1);
  REQUIRE(done.size() == 1);
  CHECK_MESSAGE(!done[0].error, done[0].error.message());
  CHECK(done[0].bytes == 0);
  CHECK(done[0].end_of_stream());
  queue.detach(pair.server.get());
}

CONFORMANCE_CASE("a large write completes once, whole, with every byte in order") {
  OPEN_QUEUE_OR_SKIP();
  Pair pair = tcp_pair();
  queue.attach(pair.server.get());
  std::string data(8 << 20, '\0');  // far more than a socket buffer: it must go out in many pieces
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  auto reader = std::async(std::launch::async, [&] { return recv_exact(pair.client.get(), data.size()); });
  queue.write(pair.server.get(), bytes_of(data), 3);
  auto done = reap(queue, 1);
  REQUIRE(done.size() == 1);
  CHECK(done[0].op == Op::write);
  CHECK_MESSAGE(!done[0].error, done[0].error.message());
  CHECK(done[0].bytes == data.size());
  REQUIRE(reader.wait_for(evq::test::kDeadline) == std::future_status::ready);
  std::string got = reader.get();
  CHECK(got.size() == data.size());
  CHECK_MESSAGE(got == data, "the peer received different bytes than were written");
  CHECK(stray_completions(queue) == 0);
  queue.detach(pair.server.get());
}

CONFORMANCE_CASE("many connections at once each get their own read and write") {
  OPEN_QUEUE_OR_SKIP();
  constexpr int kConnections = 48;
  std::vector<Pair> pairs;
  std::vector<std::string> buffers(kConnections, std::string(32, '.'));
  for (int i = 0; i < kConnections; ++i) {
    pairs.push_back(tcp_pair());
    queue.attach(pairs.back().server.get());
    queue.read(pairs.back().server.get(), bytes_of(buffers[i]), static_cast<UserData>(i));
  }
  for (int i = 0; i < kConnections; ++i) send_all(pairs[i].client.get(), "msg " + std::to_string(i));
  auto done = reap(queue, kConnections);
  REQUIRE(done.size() == kConnections);
  std::set<UserData> seen;
  for (const Completion& c : done) {
    REQUIRE(c.user_data < kConnections);
    CHECK_MESSAGE(!c.error, c.error.message());
    std::string expected = "msg " + std::to_string(c.user_data);
    CHECK(buffers[c.user_data].substr(0, c.bytes) == expected);
    seen.insert(c.user_data);
  }
  CHECK(seen.size() == kConnections);  // each exactly once
  // And back: every connection echoes what it got.
  for (int i = 0; i < kConnections; ++i)
    queue.write(pairs[i].server.get(), bytes_of(buffers[i]).first(4), static_cast<UserData>(i));
  CHECK(reap(queue, kConnections).size() == kConnections);
  for (int i = 0; i < kConnections; ++i) CHECK(recv_exact(pairs[i].client.get(), 4) == "msg ");
  for (auto& p : pairs) queue.detach(p.server.get());
}

CONFORMANCE_CASE("reads and writes on one socket complete in the order they were issued") {
  OPEN_QUEUE_OR_SKIP();
  Pair pair = tcp_pair();
  queue.attach(pair.server.get());
  std::string r1(4, '.'), r2(4, '.'), r3(4, '.');
  queue.read(pair.server.get(), bytes_of(r1), 1);
  queue.read(pair.server.get(), bytes_of(r2), 2);
  queue.read(pair.server.get(), bytes_of(r3), 3);
  send_all(pair.client.get(), "aaaabbbbcccc");
  auto reads = reap(queue, 3);
  REQUIRE(reads.size() == 3);
  for (int i = 0; i < 3; ++i) CHECK(reads[i].user_data == static_cast<UserData>(i + 1));
  CHECK(r1 == "aaaa");
  CHECK(r2 == "bbbb");
  CHECK(r3 == "cccc");

  // Three big writes, issued back to back: they must not interleave on the wire.
  std::string w1(1 << 20, '1'), w2(1 << 20, '2'), w3(1 << 20, '3');
  auto reader = std::async(std::launch::async, [&] { return recv_exact(pair.client.get(), 3 << 20); });
  queue.write(pair.server.get(), bytes_of(w1), 11);
  queue.write(pair.server.get(), bytes_of(w2), 12);
  queue.write(pair.server.get(), bytes_of(w3), 13);
  auto writes = reap(queue, 3);
  REQUIRE(writes.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(writes[i].user_data == static_cast<UserData>(11 + i));
    CHECK(writes[i].bytes == (1u << 20));
  }
  REQUIRE(reader.wait_for(evq::test::kDeadline) == std::future_status::ready);
  CHECK_MESSAGE(reader.get() == w1 + w2 + w3, "the three writes arrived interleaved or out of order");
  queue.detach(pair.server.get());
}

CONFORMANCE_CASE("post from another thread wakes wait and carries its user data") {
  OPEN_QUEUE_OR_SKIP();
  std::thread poster([&] { queue.post(42, 9); });
  auto done = reap(queue, 1);
  poster.join();
  REQUIRE(done.size() == 1);
  CHECK(done[0].op == Op::post);
  CHECK(done[0].user_data == 42);
  CHECK(done[0].bytes == 9);
  CHECK(queue.pending() == 0);
}

CONFORMANCE_CASE("wait returns 0 when nothing completes before its timeout") {
  OPEN_QUEUE_OR_SKIP();
  Pair pair = tcp_pair();
  queue.attach(pair.server.get());
  std::string buffer(8, '.');
  queue.read(pair.server.get(), bytes_of(buffer), 1);
  Completion batch[4];
  CHECK(queue.wait(batch, 20ms) == 0);
  CHECK(queue.wait(batch, 0ms) == 0);
  CHECK(queue.pending() == 1);  // the read is still lent out
  queue.cancel(pair.server.get());
  CHECK(reap(queue, 1).size() == 1);
  queue.detach(pair.server.get());
}

// [snippet test-cancel]
CONFORMANCE_CASE("cancel completes every pending operation with operation_aborted, exactly once") {
  OPEN_QUEUE_OR_SKIP();
  Pair pair = tcp_pair();
  queue.attach(pair.server.get());
  std::string r1(8, '.'), r2(8, '.');
  std::string big(32 << 20, 'x');  // the peer never reads: this write cannot finish
  queue.read(pair.server.get(), bytes_of(r1), 1);
  queue.read(pair.server.get(), bytes_of(r2), 2);
  queue.write(pair.server.get(), bytes_of(big), 3);
  Completion batch[4];
  REQUIRE(queue.wait(batch, 20ms) == 0);  // all three are really pending
  queue.cancel(pair.server.get());
  auto done = reap(queue, 3);
  REQUIRE(done.size() == 3);
  std::set<UserData> seen;
  for (const Completion& c : done) {
    INFO("user data " << c.user_data << ": " << c.error.message());
    CHECK(is_aborted(c.error));
    seen.insert(c.user_data);
  }
  CHECK(seen == std::set<UserData>{1, 2, 3});
  CHECK(stray_completions(queue) == 0);  // exactly once: nothing more comes
  CHECK(queue.pending() == 0);
  queue.detach(pair.server.get());
}
// [/snippet test-cancel]

CONFORMANCE_CASE("a cancel that loses the race reports the operation's real result") {
  OPEN_QUEUE_OR_SKIP();
  Pair pair = tcp_pair();
  queue.attach(pair.server.get());
  send_all(pair.client.get(), "data");
  REQUIRE(readable_within(pair.server.get(), 10000));  // the read below can complete at once
  std::string buffer(16, '.');
  queue.read(pair.server.get(), bytes_of(buffer), 5);
  queue.cancel(pair.server.get());
  auto done = reap(queue, 1);
  REQUIRE(done.size() == 1);
  CHECK_MESSAGE(!done[0].error,
                "the read had its data before cancel ran, yet completed with: " << done[0].error.message());
  CHECK(done[0].bytes == 4);
  CHECK(buffer.substr(0, 4) == "data");
  CHECK(stray_completions(queue) == 0);
  queue.detach(pair.server.get());
}

// [snippet test-canary]
CONFORMANCE_CASE("after a cancelled read completes, its buffer is never written (canary)") {
  OPEN_QUEUE_OR_SKIP();
  Pair pair = tcp_pair();
  queue.attach(pair.server.get());
  const std::string canary(64, '#');
  std::string buffer = canary;
  queue.read(pair.server.get(), bytes_of(buffer), 1);
  Completion batch[2];
  REQUIRE(queue.wait(batch, 20ms) == 0);
  queue.cancel(pair.server.get());
  auto done = reap(queue, 1);
  REQUIRE(done.size() == 1);
  REQUIRE(is_aborted(done[0].error));
  // Data arrives after the cancel's completion: nobody may take it into the old buffer.
  send_all(pair.client.get(), "late data");
  REQUIRE(readable_within(pair.server.get(), 10000));
  CHECK(stray_completions(queue) == 0);
  CHECK_MESSAGE(buffer == canary, "the queue wrote into a buffer it had given back: " << buffer);
  // The bytes are still in the socket for the next read.
  std::string next(16, '.');
  queue.read(pair.server.get(), bytes_of(next), 2);
  auto again = reap(queue, 1);
  REQUIRE(again.size() == 1);
  CHECK(next.substr(0, again[0].bytes) == "late data");
  queue.detach(pair.server.get());
}
// [/snippet test-canary]

CONFORMANCE_CASE("a peer that resets makes the pending read fail with connection_reset") {
  OPEN_QUEUE_OR_SKIP();
  Pair pair = tcp_pair();
  queue.attach(pair.server.get());
  std::string buffer(16, '.');
  queue.read(pair.server.get(), bytes_of(buffer), 1);
  reset_on_close(pair.client.get());
  pair.client.reset();  // close() with SO_LINGER {1, 0}: an RST, not a FIN
  auto done = reap(queue, 1);
  REQUIRE(done.size() == 1);
  CHECK_MESSAGE(done[0].error == std::errc::connection_reset, "got: " << done[0].error.message());
  // A write to the dead connection fails too (EPIPE or ECONNRESET), rather than hanging or crashing.
  std::string data(1024, 'x');
  queue.write(pair.server.get(), bytes_of(data), 2);
  auto wrote = reap(queue, 1);
  REQUIRE(wrote.size() == 1);
  CHECK_MESSAGE(wrote[0].error, "a write to a reset connection reported success");
  queue.detach(pair.server.get());
}

CONFORMANCE_CASE("accept completes once for each of many pending connections") {
  OPEN_QUEUE_OR_SKIP();
  constexpr int kClients = 24;
  Listener listener = loopback::listen(kClients * 2);
  queue.attach(listener.socket.get());
  std::vector<OwnedSocket> clients;
  for (int i = 0; i < kClients; ++i)
    clients.push_back(loopback::connect(listener.port));  // all queued in the backlog
  for (int i = 0; i < kClients; ++i) queue.accept(listener.socket.get(), static_cast<UserData>(100 + i));
  auto done = reap(queue, kClients);
  REQUIRE(done.size() == kClients);
  for (int i = 0; i < kClients; ++i) {
    CHECK(done[i].op == Op::accept);
    CHECK(done[i].user_data == static_cast<UserData>(100 + i));  // accepts complete in order too
    CHECK_MESSAGE(!done[i].error, done[i].error.message());
    CHECK(static_cast<bool>(done[i].accepted));
  }
  // The accepted sockets are real connections: one of them carries data to its client.
  Completion& first = done.front();
  queue.attach(first.accepted.get());
  std::string hello = "hi";
  queue.write(first.accepted.get(), bytes_of(hello), 1);
  REQUIRE(reap(queue, 1).size() == 1);
  bool someone_got_it = false;
  for (auto& c : clients)
    if (readable_within(c.get(), 0)) someone_got_it = recv_exact(c.get(), 2) == "hi";
  CHECK(someone_got_it);
  queue.detach(first.accepted.get());
  queue.detach(listener.socket.get());
}

CONFORMANCE_CASE("connect completes, and the connection carries data both ways") {
  OPEN_QUEUE_OR_SKIP();
  Listener listener = loopback::listen();
  OwnedSocket sock = new_tcp_socket();
  queue.attach(sock.get());
  queue.connect(sock.get(), Endpoint::loopback(listener.port), 9);
  auto done = reap(queue, 1);
  REQUIRE(done.size() == 1);
  CHECK(done[0].op == Op::connect);
  REQUIRE_MESSAGE(!done[0].error, done[0].error.message());
  OwnedSocket server = accept_blocking(listener.socket.get());
  std::string msg = "ping";
  queue.write(sock.get(), bytes_of(msg), 10);
  REQUIRE(reap(queue, 1).size() == 1);
  CHECK(recv_exact(server.get(), 4) == "ping");
  send_all(server.get(), "pong");
  std::string reply(4, '.');
  queue.read(sock.get(), bytes_of(reply), 11);
  REQUIRE(reap(queue, 1).size() == 1);
  CHECK(reply == "pong");
  queue.detach(sock.get());
}

CONFORMANCE_CASE("connect to a port nobody listens on completes with connection_refused") {
  OPEN_QUEUE_OR_SKIP();
  std::uint16_t port = refused_port();
  OwnedSocket sock = new_tcp_socket();
  queue.attach(sock.get());
  queue.connect(sock.get(), Endpoint::loopback(port), 4);
  auto done = reap(queue, 1);
  REQUIRE(done.size() == 1);
  CHECK(done[0].op == Op::connect);
  CHECK_MESSAGE(done[0].error == std::errc::connection_refused, "got: " << done[0].error.message());
  queue.detach(sock.get());
}

CONFORMANCE_CASE("an operation on a socket that was never attached is a clear error") {
  OPEN_QUEUE_OR_SKIP();
  Pair pair = tcp_pair();
  std::string buffer(8, '.');
  // The message says what to do about it, on every backend.
  CHECK_THROWS_WITH_AS(queue.read(pair.server.get(), bytes_of(buffer), 1),
                       doctest::Contains("call attach first"), std::invalid_argument);
  queue.attach(pair.server.get());
  CHECK_THROWS_WITH_AS(queue.attach(pair.server.get()), doctest::Contains("already attached"),
                       std::invalid_argument);
  CHECK(queue.pending() == 0);
  queue.detach(pair.server.get());
}

// A caller's "no limit" spelled as milliseconds::max() must be a long wait on every backend: not an
// overflow in a conversion to nanoseconds, an int, a timespec or a DWORD.
CONFORMANCE_CASE("wait with a timeout of any length waits for a post, never overflows") {
  OPEN_QUEUE_OR_SKIP();
  for (auto timeout : {std::chrono::milliseconds::max(), std::chrono::milliseconds(10'000'000'000'000)}) {
    CAPTURE(timeout.count());
    std::thread poster([&] {
      std::this_thread::sleep_for(50ms);  // after the wait below has begun
      queue.post(5);
    });
    Completion done[2];
    std::size_t n = queue.wait(done, timeout);
    poster.join();
    CHECK_MESSAGE(n == 1, "wait(" << timeout.count() << " ms) should last until the post; it returned " << n);
  }
}
