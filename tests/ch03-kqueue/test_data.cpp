// The `data` and EOF fields of EVFILT_READ and EVFILT_WRITE, as kqueue(2) describes them:
// bytes to read, connections waiting on a listener, room to write, EV_EOF with the socket error.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "evq/common/error.hpp"
#include "evq/common/net.hpp"
#include "kq_test.hpp"

using namespace evq::kq;
using namespace evq::kq::test;

namespace {

struct Pipe : evq::Pipe {
  Pipe() : evq::Pipe(evq::make_pipe(/*nonblocking=*/true)) {}
};

}  // namespace

TEST_CASE("EVFILT_READ data is the number of bytes ready to read on a socket") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  evq::TcpPair pair = evq::tcp_pair();
  kq.apply(change(id(pair.server.get()), EVFILT_READ, EV_ADD));
  evq::write_all(pair.client.get(), std::string(1000, 'a'));
  std::int64_t seen = 0;
  CHECK_MESSAGE(evq::test::wait_until([&] {
                  auto ev = wait_for(kq, id(pair.server.get()), EVFILT_READ, 100ms);
                  seen = ev ? ev->data : 0;
                  return seen == 1000;
                }),
                "data should reach 1000 bytes, last seen " << seen);
}

TEST_CASE("EVFILT_READ data on a listening socket counts the connections waiting to be accepted") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  evq::UniqueFd listener = evq::listen_loopback(evq::Family::v4, 16, true);
  kq.apply(change(id(listener.get()), EVFILT_READ, EV_ADD));
  CHECK(pending(kq).empty());
  std::vector<evq::UniqueFd> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(evq::connect_loopback(evq::local_port(listener.get())));
  std::int64_t seen = 0;
  CHECK_MESSAGE(evq::test::wait_until([&] {
                  auto ev = wait_for(kq, id(listener.get()), EVFILT_READ, 100ms);
                  seen = ev ? ev->data : 0;
                  return seen == 3;
                }),
                "three connections wait, data said " << seen);
  if (kEmulated)
    MESSAGE("emulation: the count comes from TCP_INFO (tcpi_unacked holds a listener's accept queue length)");
  evq::UniqueFd first = evq::accept_connection(listener.get(), true);
  REQUIRE(first);
  auto ev = wait_for(kq, id(listener.get()), EVFILT_READ);
  REQUIRE(ev);
  CHECK_MESSAGE(ev->data == 2, "after one accept two remain");
}

TEST_CASE("EVFILT_WRITE data is the room in a socket's send buffer: quiet when full, back when drained") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  evq::TcpPair pair = evq::tcp_pair();
  evq::set_nonblocking(pair.client.get());
  kq.apply(change(id(pair.client.get()), EVFILT_WRITE, EV_ADD));
  auto empty = wait_for(kq, id(pair.client.get()), EVFILT_WRITE);
  REQUIRE(empty);
  CHECK_MESSAGE(empty->data > 0, "an idle socket has room to write");
  if (kEmulated)
    MESSAGE(
        "emulation: data = SO_SNDBUF - SIOCOUTQ (Linux doubles SO_SNDBUF for bookkeeping, so it is an estimate)");
  // Fill the send buffer (the peer does not read) until the socket refuses more.
  std::string chunk(64 * 1024, 'x');
  std::size_t written = 0;
  for (;;) {
    ssize_t n = ::send(pair.client.get(), chunk.data(), chunk.size(), evq::kSendFlags);
    if (n < 0) break;
    written += static_cast<std::size_t>(n);
  }
  CHECK(written > 0);
  CHECK_MESSAGE(count_pending(kq, id(pair.client.get()), EVFILT_WRITE) == 0,
                "a full send buffer is not writable, so EVFILT_WRITE is quiet");
  // Let the peer read everything: room returns, and the event with it.
  std::size_t drained = 0;
  auto ev = std::optional<struct kevent>{};
  REQUIRE(evq::test::wait_until([&] {
    char buf[65536];
    ssize_t n = ::recv(pair.server.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) drained += static_cast<std::size_t>(n);
    if (drained < written) return false;
    ev = wait_for(kq, id(pair.client.get()), EVFILT_WRITE, 100ms);
    return ev.has_value();
  }));
  CHECK(ev->data > 0);
  if (kEmulated)
    MESSAGE("emulation: room was "
            << empty->data << " before, " << ev->data
            << " after; Linux grows a busy socket's send buffer by itself, so the two are not compared");
}

TEST_CASE("EVFILT_READ and EVFILT_WRITE data on a pipe: bytes in it, room left in it") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  Pipe p;
  const struct kevent both[] = {change(id(p.read_end.get()), EVFILT_READ, EV_ADD),
                                change(id(p.write_end.get()), EVFILT_WRITE, EV_ADD)};
  kq.apply(both);
  auto room = wait_for(kq, id(p.write_end.get()), EVFILT_WRITE);
  REQUIRE(room);
  const std::int64_t capacity = room->data;
  CHECK(capacity > 0);
  REQUIRE(::write(p.write_end.get(), "0123456789", 10) == 10);
  auto readable = wait_for(kq, id(p.read_end.get()), EVFILT_READ);
  REQUIRE(readable);
  CHECK(readable->data == 10);
  auto room_after = wait_for(kq, id(p.write_end.get()), EVFILT_WRITE);
  REQUIRE(room_after);
  CHECK_MESSAGE(room_after->data == capacity - 10, "ten bytes in the pipe take ten bytes of room");
}

TEST_CASE("a peer's half-close is EV_EOF on EVFILT_READ, with the last bytes still readable") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  evq::TcpPair pair = evq::tcp_pair();
  kq.apply(change(id(pair.server.get()), EVFILT_READ, EV_ADD));
  evq::write_all(pair.client.get(), "last");
  evq::shutdown_write(pair.client.get());
  std::optional<struct kevent> ev;
  REQUIRE_MESSAGE(evq::test::wait_until([&] {
                    ev = wait_for(kq, id(pair.server.get()), EVFILT_READ, 100ms);
                    return ev && (ev->flags & EV_EOF);
                  }),
                  "EV_EOF should be set once the FIN has arrived");
  CHECK_MESSAGE(ev->data == 4, "EOF can come while data is still pending");
  CHECK_MESSAGE(ev->fflags == 0, "a clean close carries no socket error");
}

TEST_CASE("a reset peer gives EV_EOF with the socket error (ECONNRESET) in fflags") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  evq::TcpPair pair = evq::tcp_pair();
  kq.apply(change(id(pair.server.get()), EVFILT_READ, EV_ADD));
  evq::set_linger_reset(pair.client.get());
  pair.client.reset();  // RST
  std::optional<struct kevent> ev;
  REQUIRE(evq::test::wait_until([&] {
    ev = wait_for(kq, id(pair.server.get()), EVFILT_READ, 100ms);
    return ev && (ev->flags & EV_EOF);
  }));
  CHECK_MESSAGE(ev->fflags == static_cast<unsigned>(ECONNRESET),
                "fflags carries the error: " << describe(*ev));
  if (kEmulated)
    MESSAGE(
        "emulation: Linux clears SO_ERROR when it is read; the emulation reads it once and keeps it, "
        "so a later recv() returns 0 rather than ECONNRESET");
  auto again = wait_for(kq, id(pair.server.get()), EVFILT_READ);
  REQUIRE(again);
  CHECK_MESSAGE(again->fflags == static_cast<unsigned>(ECONNRESET), "the error stays with the EOF");
}

TEST_CASE("a refused connection is EV_EOF on EVFILT_WRITE with ECONNREFUSED") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  std::uint16_t port;
  {
    evq::UniqueFd listener = evq::listen_loopback();
    port = evq::local_port(listener.get());
  }  // closed: nothing listens on `port` any more
  evq::UniqueFd fd = evq::connect_loopback_nonblocking(port);
  kq.apply(change(id(fd.get()), EVFILT_WRITE, EV_ADD));
  auto ev = wait_for(kq, id(fd.get()), EVFILT_WRITE);
  REQUIRE(ev);
  CHECK((ev->flags & EV_EOF));
  CHECK_MESSAGE(ev->fflags == static_cast<unsigned>(ECONNREFUSED), describe(*ev));
}

TEST_CASE("a pipe whose writer is gone is EV_EOF on EVFILT_READ, whose reader is gone, on EVFILT_WRITE") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  Pipe a, b;
  const struct kevent both[] = {change(id(a.read_end.get()), EVFILT_READ, EV_ADD),
                                change(id(b.write_end.get()), EVFILT_WRITE, EV_ADD)};
  kq.apply(both);
  a.write_end.reset();
  b.read_end.reset();
  auto r = wait_for(kq, id(a.read_end.get()), EVFILT_READ);
  REQUIRE(r);
  CHECK((r->flags & EV_EOF));
  CHECK(r->data == 0);
  auto w = wait_for(kq, id(b.write_end.get()), EVFILT_WRITE);
  REQUIRE(w);
  CHECK((w->flags & EV_EOF));
}
