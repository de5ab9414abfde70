// The echo server's hot path allocates nothing: chapter 4's benchmark uses it as the raw epoll
// baseline, so a per-message allocation would be measured against every other backend.
//
// This program (a test binary of its own, because it replaces the global operator new) counts
// the allocations made on the server's thread while it serves a light and a heavy load with the
// same number of clients. Memory per connection is fine; memory per message is the bug.
#include <cstdlib>
#include <new>
#include <thread>

#include "evq/common/net.hpp"
#include "evq/epoll/echo_client.hpp"
#include "evq/epoll/echo_server.hpp"
#include "evq/test/support.hpp"

namespace {
thread_local std::size_t allocations_on_this_thread = 0;
}

void* operator new(std::size_t size) {
  ++allocations_on_this_thread;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return ::operator new(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

using namespace evq;
using namespace evq::epoll;

namespace {

// Allocations made by the server thread while serving `messages` per client.
std::size_t server_allocations(Trigger trigger, int messages) {
  EchoServer server(listen_loopback(), {.trigger = trigger});
  std::size_t counted = 0;
  std::jthread thread([&] {
    std::size_t before = allocations_on_this_thread;
    server.run();
    counted = allocations_on_this_thread - before;
  });
  EchoLoadResult r =
      run_echo_clients({.port = server.port(), .clients = 8, .messages = messages, .message_size = 200});
  server.stop();
  thread.join();
  REQUIRE_MESSAGE(r.ok(), (r.errors.empty() ? "" : r.errors.front()));
  return counted;
}

}  // namespace

TEST_CASE("the echo server allocates per connection, never per message") {
  for (Trigger trigger : {Trigger::level, Trigger::edge}) {
    INFO((trigger == Trigger::level ? "level-triggered" : "edge-triggered"));
    std::size_t light = server_allocations(trigger, 10);
    std::size_t heavy = server_allocations(trigger, 1000);
    MESSAGE("server-thread allocations: " << light << " for 8 x 10 messages, " << heavy << " for 8 x 1000");
    // 7920 more messages; a per-message allocation would add thousands. Connection slots may be
    // made in a different order from run to run, hence a little slack.
    CHECK(heavy <= light + 16);
  }
}
