// The kqueue echo server: many clients round-trip, large and binary messages go through the write
// path, a half-closing client gets every echo before the server closes, a resetting peer does not
// stop the server.
#include <sys/socket.h>

#include <random>
#include <thread>
#include <vector>

#include "evq/common/joining_thread.hpp"
#include "evq/common/net.hpp"
#include "evq/kq/echo_server.hpp"
#include "kq_test.hpp"

using namespace evq::kq;

namespace {

// Runs the server on a thread of its own for the life of the object; stats are read after stop.
struct RunningServer {
  EchoServer server;
  std::thread loop;
  RunningServer()
      : loop([this] { server.run(std::chrono::steady_clock::now() + std::chrono::seconds(60)); }) {}
  EchoStats finish() {
    server.stop();
    loop.join();
    return server.stats();
  }
  ~RunningServer() {
    if (loop.joinable()) finish();
  }
  std::uint16_t port() const { return server.port(); }
};

using namespace std::chrono_literals;

// Every blocking read in these tests has a deadline.
void set_receive_timeout(int fd) {
  evq::set_receive_timeout(fd, 10'000);
}

}  // namespace

TEST_CASE("echo: 32 clients of 50 round trips each all get their own bytes back") {
  EVQ_KQ_PLATFORM_NOTE();
  RunningServer s;
  std::atomic<int> wrong{0};
  {
    std::vector<evq::JoiningThread> clients;
    for (int c = 0; c < 32; ++c)
      clients.emplace_back([&, c] {
        try {
          evq::UniqueFd fd = evq::connect_loopback(s.port());
          set_receive_timeout(fd.get());
          for (int m = 0; m < 50; ++m) {
            std::string text(static_cast<std::size_t>(1 + (c * 31 + m * 7) % 200),
                             static_cast<char>('a' + c % 26));
            evq::write_all(fd.get(), text);
            if (evq::read_exact(fd.get(), text.size()) != text) ++wrong;
          }
        } catch (const std::exception&) {
          ++wrong;
        }
      });
  }
  EchoStats stats = s.finish();
  CHECK_MESSAGE(wrong == 0, wrong << " clients saw a wrong or missing echo");
  CHECK(stats.accepted == 32);
  CHECK(stats.change_errors == 0);
  CHECK_MESSAGE(stats.changes_batched > 0, "registrations should ride along with the waiting kevent()");
}

TEST_CASE("echo: a megabyte of binary bytes comes back whole (the EVFILT_WRITE path)") {
  EVQ_KQ_PLATFORM_NOTE();
  RunningServer s;
  std::string payload(1 << 20, '\0');
  std::mt19937 random(7);
  for (char& ch : payload) ch = static_cast<char>(random() & 0xff);
  evq::UniqueFd fd = evq::connect_loopback(s.port());
  set_receive_timeout(fd.get());
  std::string echoed;
  std::thread reader([&] { echoed = evq::read_exact(fd.get(), payload.size()); });
  evq::write_all(fd.get(), payload);  // the server cannot echo it all at once: it must wait to write
  reader.join();
  CHECK_MESSAGE(echoed.size() == payload.size(),
                "got " << echoed.size() << " of " << payload.size() << " bytes");
  CHECK(echoed == payload);
}

TEST_CASE("echo: a client that half-closes gets every echo, then end of stream") {
  EVQ_KQ_PLATFORM_NOTE();
  RunningServer s;
  evq::UniqueFd fd = evq::connect_loopback(s.port());
  set_receive_timeout(fd.get());
  evq::write_all(fd.get(), "last words");
  evq::shutdown_write(fd.get());
  CHECK(evq::read_exact(fd.get(), 10) == "last words");
  char byte;
  CHECK_MESSAGE(::recv(fd.get(), &byte, 1, 0) == 0, "after the echo, the server closes: end of stream");
}

TEST_CASE("echo: a resetting peer does not stop the server") {
  EVQ_KQ_PLATFORM_NOTE();
  RunningServer s;
  {
    evq::UniqueFd rude = evq::connect_loopback(s.port());
    evq::write_all(rude.get(), "half a messa");
    evq::set_linger_reset(rude.get());
  }  // RST
  for (int i = 0; i < 3; ++i) {
    evq::UniqueFd polite = evq::connect_loopback(s.port());
    set_receive_timeout(polite.get());
    evq::write_all(polite.get(), "still there?");
    CHECK_MESSAGE(evq::read_exact(polite.get(), 12) == "still there?", "the server must keep serving");
  }
  EchoStats stats = s.finish();
  CHECK(stats.accepted == 4);
  CHECK_MESSAGE(stats.resets >= 1, "the reset should have been seen as one");
}

TEST_CASE("echo: the server leaks no descriptor, resets included") {
  EVQ_KQ_PLATFORM_NOTE();
  { Kqueue warm_up; }  // the emulation frees a closed kqueue's helpers when the next one is made
  const int before = evq::test::open_fd_count();
  {
    RunningServer s;
    {
      evq::UniqueFd rude = evq::connect_loopback(s.port());
      evq::write_all(rude.get(), "x");
      evq::set_linger_reset(rude.get());
    }
    for (int i = 0; i < 5; ++i) {
      evq::UniqueFd fd = evq::connect_loopback(s.port());
      set_receive_timeout(fd.get());
      evq::write_all(fd.get(), "ping");
      CHECK(evq::read_exact(fd.get(), 4) == "ping");
    }
    s.finish();
  }
  { Kqueue after; }
  CHECK_MESSAGE(evq::test::open_fd_count() <= before,
                "descriptors open before: " << before << ", after: " << evq::test::open_fd_count());
}
