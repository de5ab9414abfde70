// The coroutine echo server: many clients at once, and a stop() with connections open that ends
// every connection's coroutine through cancellation, on one thread and on the pool. (The hostile-client suite attacks it too:
// "hostile ch06 coro_echo --backend ...".)
#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include "evq/completion/backends.hpp"
#include "evq/completion/loopback.hpp"
#include "evq/coro/echo_server.hpp"
#include "evq/coro/pool_echo_server.hpp"

using namespace evq::completion;

TEST_CASE("coroutine echo server: twenty clients at once, then stop() with every connection still open") {
  loopback::init();
  for (const BackendInfo& b : backends()) {
    if (!b.usable) continue;
    INFO("backend " << b.name);
    loopback::Listener listener = loopback::listen();
    auto queue = open_queue(b.name);
    evq::coro::Loop loop(*queue);
    evq::coro::EchoServer server(loop, listener.socket.get());
    std::thread thread([&] { server.run(); });
    std::vector<OwnedSocket> clients;
    for (int c = 0; c < 20; ++c) clients.push_back(loopback::connect(listener.port));
    for (int round = 0; round < 3; ++round)
      for (std::size_t c = 0; c < clients.size(); ++c) {
        const std::string msg = "round " + std::to_string(round) + " client " + std::to_string(c);
        loopback::send_all(clients[c].get(), msg);
        CHECK(loopback::recv_exact(clients[c].get(), msg.size()) == msg);
      }
    // Every client is connected and silent: each connection's coroutine waits in a read.
    server.stop();
    thread.join();  // run() returned: every coroutine ended through its cancelled read
    CHECK(server.stats().accepted == 20);
    CHECK(server.stats().closed + server.stats().errors == 20);
    CHECK(server.stats().errors == 0);
    CHECK(loop.live_tasks() == 0);
    CHECK(queue->pending() == 0);
    // And the clients see the close.
    CHECK(loopback::recv_exact(clients[0].get(), 1).empty());
  }
}

TEST_CASE(
    "coroutine echo server on the pool: twenty clients at once, then stop() with every connection open") {
  loopback::init();
  for (const BackendInfo& b : backends()) {
    if (!b.usable) continue;
    INFO("backend " << b.name);
    loopback::Listener listener = loopback::listen();  // outlives the pool, which has it associated
    evq::coro::Pool pool(evq::coro::Pool::Options{2, 4, b.name});
    evq::coro::PoolEchoServer server(pool, listener.socket.get());
    std::thread thread([&] { server.run(); });
    std::vector<OwnedSocket> clients;
    for (int c = 0; c < 20; ++c) clients.push_back(loopback::connect(listener.port));
    for (int round = 0; round < 3; ++round)
      for (std::size_t c = 0; c < clients.size(); ++c) {
        const std::string msg = "round " + std::to_string(round) + " client " + std::to_string(c);
        loopback::send_all(clients[c].get(), msg);
        CHECK(loopback::recv_exact(clients[c].get(), msg.size()) == msg);
      }
    server.stop();  // one CancelScope: the accept and the twenty pending reads complete aborted
    thread.join();
    const auto st = server.stats();
    CHECK(st.accepted == 20);
    CHECK(st.closed == 20);
    CHECK(st.errors == 0);
    CHECK(st.bytes_echoed > 0);
    CHECK(pool.live_tasks() == 0);
    for (OwnedSocket& c : clients) CHECK(loopback::recv_exact(c.get(), 1).empty());  // each one closed
  }
}
