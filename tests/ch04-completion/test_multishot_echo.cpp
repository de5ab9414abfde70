// UringMultishotEcho: io_uring's other way to lend a buffer, where the kernel picks one from a ring we
// gave it. The cases pin down what that design makes hard: echoes stay whole and in order across
// buffers, one peer that never reads cannot take the whole pool from everybody else, receives that
// found no free buffer resume when one comes back, and stop() returns whatever the peers do.
#include <doctest/doctest.h>
#include <fmt/core.h>

#include <atomic>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "evq/completion/loopback.hpp"
#include "evq/completion/uring_multishot_echo.hpp"
#include "evq/test/support.hpp"

using namespace evq::completion;

namespace {

// Runs a server on its own thread for the lifetime of the object.
struct Running {
  loopback::Listener listener = loopback::listen();
  UringMultishotEcho server;
  std::exception_ptr failure;
  std::thread loop;
  explicit Running(UringMultishotEcho::Options options) : server(listener.socket.get(), options) {
    loop = std::thread([this] {
      try {
        server.run();
      } catch (...) {
        failure = std::current_exception();
      }
    });
  }
  ~Running() {
    server.stop();
    if (loop.joinable()) loop.join();
  }
  void stop() {
    server.stop();
    loop.join();
    if (failure) std::rethrow_exception(failure);
  }
};

std::string message(int client, int n, std::size_t size) {
  std::string m(size, static_cast<char>('a' + (client + n) % 26));
  m.replace(0, std::min<std::size_t>(size, 12),
            fmt::format("{:04}:{:06}:", client, n).substr(0, std::min<std::size_t>(size, 12)));
  return m;
}

// Wakes a thread of ours blocked in send() on `s`. The server may have reset the connection
// already (then that send has failed by itself, and shutdown() says ENOTCONN): either is fine.
void wake_blocked_sender(NativeSocket s) {
  try {
    loopback::half_close(s);
  } catch (const std::exception&) {
  }
}

#define SKIP_UNLESS_MULTISHOT()                                                   \
  if (std::string why = UringMultishotEcho::unavailable_reason(); !why.empty()) { \
    MESSAGE("multishot io_uring cannot run here: ", why);                         \
    CHECK_FALSE(why.empty());                                                     \
    return;                                                                       \
  }

}  // namespace

TEST_CASE("multishot echo: many connections, messages across several buffers, each echo whole and in order") {
  SKIP_UNLESS_MULTISHOT();
  UringMultishotEcho::Options options;
  options.buffers = 64;
  options.buffer_size = 1024;  // a 5000-byte message needs five of them
  int fds_before = evq::test::open_fd_count();
  {
    Running r(options);
    std::vector<std::thread> clients;
    std::atomic<int> wrong{0};
    for (int c = 0; c < 16; ++c)
      clients.emplace_back([&, c] {
        OwnedSocket sock = loopback::connect(r.listener.port);
        for (int n = 0; n < 30; ++n) {
          std::string m = message(c, n, n % 3 == 0 ? 5000 : 40);
          loopback::send_all(sock.get(), m);
          if (loopback::recv_exact(sock.get(), m.size()) != m) ++wrong;
        }
      });
    for (auto& t : clients) t.join();
    CHECK_MESSAGE(wrong.load() == 0, wrong.load(), " echoes differed from what was sent");
    REQUIRE(evq::test::wait_until([&] { return r.server.open_connections() == 0; }));
    r.stop();
    CHECK(r.server.stats().accepted == 16);
    CHECK(r.server.stats().closed == 16);
    CHECK(r.server.stats().errors == 0);
  }
  CHECK_MESSAGE(evq::test::open_fd_count() == fds_before, "the server left descriptors open");
}

TEST_CASE(
    "multishot echo: a peer that never reads holds at most its cap of the pool, and others are served") {
  SKIP_UNLESS_MULTISHOT();
  UringMultishotEcho::Options options;
  options.buffers = 32;
  options.buffer_size = 1024;
  options.max_held = 4;  // without the cap, the hog below would hold all 32 and starve the other client
  Running r(options);
  OwnedSocket hog = loopback::connect(r.listener.port);
  std::atomic<bool> done{false};
  std::thread flood([&] {
    std::string chunk(64 * 1024, 'h');
    while (!done.load()) {
      // Blocks once the server has stopped reading from us; the test's end unblocks it (half-close).
      try {
        loopback::send_all(hog.get(), chunk);
      } catch (const std::exception&) {
        return;
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // not to settle: to let the hog fill its side
  INFO("step 2: while the hog fills every socket buffer and never reads, another client echoes");
  OwnedSocket fine = loopback::connect(r.listener.port);
  int echoed = 0;
  std::string failure;
  try {
    for (int n = 0; n < 50; ++n) {
      std::string m = message(1, n, 3000);  // three buffers each
      loopback::send_all(fine.get(), m);
      if (loopback::recv_exact(fine.get(), m.size()) == m) ++echoed;
    }
  } catch (const std::exception& e) {
    failure = e.what();  // the 10 s receive timeout: the pool was all the hog's
  }
  CHECK_MESSAGE(echoed == 50, "only ", echoed, " of 50 echoes came back while a peer hogged the pool ",
                failure);
  done = true;
  wake_blocked_sender(hog.get());  // wakes the flood's blocked send (EPIPE), on this side only
  flood.join();
  loopback::reset_on_close(hog.get());
  hog = OwnedSocket();  // RST: the server's pending echo to the hog fails, and it drops the rest
  r.stop();
  CHECK(r.server.stats().accepted == 2);
}

TEST_CASE("multishot echo: receives that found no free buffer resume when one comes back") {
  SKIP_UNLESS_MULTISHOT();
  UringMultishotEcho::Options options;
  options.buffers = 4;  // fewer buffers than clients with data in flight: receives run out
  options.buffer_size = 512;
  options.max_held = 4;
  Running r(options);
  std::vector<std::thread> clients;
  std::atomic<int> wrong{0};
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&, c] {
      OwnedSocket sock = loopback::connect(r.listener.port);
      for (int n = 0; n < 20; ++n) {
        std::string m = message(c, n, 4096);
        loopback::send_all(sock.get(), m);
        if (loopback::recv_exact(sock.get(), m.size()) != m) ++wrong;
      }
    });
  for (auto& t : clients) t.join();
  CHECK_MESSAGE(wrong.load() == 0, wrong.load(),
                " echoes were wrong or cut short (a receive never resumed?)");
  r.stop();
  CHECK(r.server.stats().bytes_echoed == 8u * 20u * 4096u);
}

TEST_CASE("multishot echo: stop() returns with connections open and a peer that never reads") {
  SKIP_UNLESS_MULTISHOT();
  Running r(UringMultishotEcho::Options{});
  OwnedSocket idle = loopback::connect(r.listener.port);
  OwnedSocket hog = loopback::connect(r.listener.port);
  std::string lots(256 * 1024, 'x');
  std::thread flood([&] {
    try {
      loopback::send_all(hog.get(), lots);
    } catch (const std::exception&) {
    }
  });
  REQUIRE(evq::test::wait_until([&] { return r.server.open_connections() == 2; }));
  r.stop();  // must not wait for the hog to read
  CHECK(r.server.stats().closed == r.server.stats().accepted);
  wake_blocked_sender(hog.get());  // the flood may still be blocked in send: wake it
  flood.join();
}
