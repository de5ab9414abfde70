// EchoServer, the chapter's one server, on every backend this machine has: it echoes, survives
// clients that reset or send half a message and vanish, shuts down with operations still lent out,
// and leaves no descriptor behind.
#include <doctest/doctest.h>

#include <exception>
#include <string>
#include <thread>

#include "evq/common/net.hpp"
#include "evq/completion/backends.hpp"
#include "evq/completion/echo_server.hpp"
#include "evq/test/support.hpp"

using namespace evq::completion;

TEST_CASE("EchoServer echoes, survives resetting clients, and leaks no descriptor, on every backend") {
  for (const BackendInfo& backend : backends()) {
    if (!backend.usable) {
      MESSAGE("backend " << backend.name << " not run: " << backend.why_not);
      continue;
    }
    INFO("backend " << backend.name);
    // A backend may keep one descriptor for the whole process after its first use (ch03's kqueue
    // emulation does); open one queue first so that is not counted as a leak of this server.
    open_queue(backend.name);
    int fds_before = evq::test::open_fd_count();
    {
      evq::UniqueFd listener = evq::listen_loopback();
      std::uint16_t port = evq::local_port(listener.get());
      auto queue = open_queue(backend.name);
      EchoServer server(*queue, listener.get());
      std::exception_ptr failure;
      std::thread loop([&] {
        try {
          server.run();
        } catch (...) {
          failure = std::current_exception();
        }
      });
      // Two clients that misbehave: one resets mid-conversation, one half-sends and resets.
      for (int i = 0; i < 2; ++i) {
        evq::UniqueFd rude = evq::connect_loopback(port);
        evq::write_all(rude.get(), i == 0 ? "hello\n" : "half a mess");
        evq::set_linger_reset(rude.get());
      }  // closed with RST here
      // Well-behaved clients, each checking its echo.
      for (int i = 0; i < 4; ++i) {
        evq::UniqueFd client = evq::connect_loopback(port);
        evq::set_receive_timeout(client.get(), 10'000);
        std::string msg = "message from client " + std::to_string(i);
        evq::write_all(client.get(), msg);
        CHECK(evq::read_exact(client.get(), msg.size()) == msg);
      }
      // One client still connected, its read lent out, when the server stops.
      evq::UniqueFd lingering = evq::connect_loopback(port);
      evq::write_all(lingering.get(), "ping");
      REQUIRE(evq::read_exact(lingering.get(), 4) == "ping");
      server.stop();
      loop.join();
      if (failure) std::rethrow_exception(failure);
      CHECK(server.stats().accepted == 7);
      CHECK(server.open_connections() == 0);  // every connection's last completion came back
      CHECK(queue->pending() == 0);
    }
    CHECK_MESSAGE(evq::test::open_fd_count() == fds_before, "descriptors leaked on " << backend.name);
  }
}
