// Lab 2: a write path sized by EVFILT_WRITE's data. Points are in the test names.
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <random>
#include <thread>

#include "evq/common/net.hpp"
#include "evq/kq/lab/sized_writer.hpp"
#include "kq_test.hpp"

using namespace evq::kq;
using namespace evq::kq::test;
using evq::kq::lab::SizedWriter;

namespace {

struct Fixture {
  Kqueue kq;
  evq::TcpPair pair = evq::tcp_pair();
  Fixture() {
    evq::set_nonblocking(pair.client.get());
    evq::set_receive_timeout(pair.server.get(), 10'000);  // the peer's blocking reads have a deadline
  }
  int fd() const { return pair.client.get(); }
};

}  // namespace

TEST_CASE("send() registers EVFILT_WRITE, and on_writable() delivers the bytes [2 pts]") {
  EVQ_KQ_PLATFORM_NOTE();
  Fixture f;
  int tag = 0;
  SizedWriter writer(f.kq, f.fd(), &tag);
  CHECK_MESSAGE(answer(f.kq, change(id(f.fd()), EVFILT_WRITE, EV_DELETE)) == ENOENT,
                "nothing is registered before there is something to send");
  writer.send("hello");
  CHECK(writer.queued() == 5);
  CHECK(writer.registered());
  auto ev = wait_for(f.kq, id(f.fd()), EVFILT_WRITE);
  REQUIRE_MESSAGE(ev, "send() should have registered EVFILT_WRITE for the socket");
  CHECK(ev->udata == &tag);
  CHECK(writer.on_writable(*ev) == 5);
  CHECK(writer.queued() == 0);
  CHECK(evq::read_exact(f.pair.server.get(), 5) == "hello");
}

TEST_CASE("on_writable() never writes more than the event's data [2 pts]") {
  EVQ_KQ_PLATFORM_NOTE();
  Fixture f;
  SizedWriter writer(f.kq, f.fd());
  std::string hundred(100, 'z');
  writer.send(hundred);
  const struct kevent ten = change(id(f.fd()), EVFILT_WRITE, 0, 0, 10);
  CHECK(writer.on_writable(ten) == 10);
  CHECK(writer.queued() == 90);
  CHECK(evq::read_exact(f.pair.server.get(), 10) == std::string(10, 'z'));
  const struct kevent plenty = change(id(f.fd()), EVFILT_WRITE, 0, 0, 1000);
  CHECK(writer.on_writable(plenty) == 90);
  CHECK(evq::read_exact(f.pair.server.get(), 90) == std::string(90, 'z'));
}

TEST_CASE("the write filter is deleted when the queue drains [1 pt]") {
  EVQ_KQ_PLATFORM_NOTE();
  Fixture f;
  SizedWriter writer(f.kq, f.fd());
  writer.send("abc");
  auto ev = wait_for(f.kq, id(f.fd()), EVFILT_WRITE);
  REQUIRE(ev);
  writer.on_writable(*ev);
  CHECK(writer.queued() == 0);
  CHECK_FALSE(writer.registered());
  CHECK_MESSAGE(count_pending(f.kq, id(f.fd()), EVFILT_WRITE) == 0,
                "with nothing to send, a writable socket must not keep reporting");
  CHECK_MESSAGE(answer(f.kq, change(id(f.fd()), EVFILT_WRITE, EV_DELETE)) == ENOENT,
                "the EVFILT_WRITE registration should be gone");
}

TEST_CASE("a megabyte reaches the peer in order, each write within its event's data [2 pts]") {
  EVQ_KQ_PLATFORM_NOTE();
  Fixture f;
  SizedWriter writer(f.kq, f.fd());
  std::string payload(1 << 20, '\0');
  std::mt19937 random(3);
  for (char& ch : payload) ch = static_cast<char>(random() & 0xff);
  std::string received;
  bool within = true;
  {
    std::thread peer([&] { received = evq::read_exact(f.pair.server.get(), payload.size()); });
    // However this block ends (an exception from an unfinished lab too), the peer is released
    // (shutdown sends FIN after the bytes already queued, so nothing is lost) and joined.
    struct JoinPeer {
      std::thread& peer;
      int fd;
      ~JoinPeer() {
        ::shutdown(fd, SHUT_WR);
        peer.join();
      }
    } join_peer{peer, f.fd()};
    writer.send(payload);
    auto deadline = std::chrono::steady_clock::now() + evq::test::kDeadline;
    while (writer.queued() > 0 && std::chrono::steady_clock::now() < deadline) {
      auto ev = wait_for(f.kq, id(f.fd()), EVFILT_WRITE, 1000ms);
      if (!ev) continue;
      std::size_t n = writer.on_writable(*ev);
      if (static_cast<std::int64_t>(n) > ev->data) within = false;
    }
  }
  CHECK_MESSAGE(writer.queued() == 0, writer.queued() << " bytes were never written");
  CHECK_MESSAGE(within, "a write was larger than the room the event reported");
  CHECK(received.size() == payload.size());
  CHECK_MESSAGE(received == payload, "the bytes must arrive whole and in order");
}

TEST_CASE("EV_EOF drops the queue and keeps the socket error [1 pt]") {
  EVQ_KQ_PLATFORM_NOTE();
  Fixture f;
  SizedWriter writer(f.kq, f.fd());
  writer.send("never to be sent");
  const struct kevent eof = change(id(f.fd()), EVFILT_WRITE, EV_EOF, ECONNRESET, 0);
  CHECK(writer.on_writable(eof) == 0);
  CHECK(writer.queued() == 0);
  CHECK(writer.error() == ECONNRESET);
  CHECK_FALSE(writer.registered());
  CHECK(answer(f.kq, change(id(f.fd()), EVFILT_WRITE, EV_DELETE)) == ENOENT);
}
