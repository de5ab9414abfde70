// A single-threaded epoll echo server, level- or edge-triggered.
//
//   evq::epoll::EchoServer server(evq::listen_loopback(), {.trigger = Trigger::edge});
//   std::thread t([&] { server.run(); });   // serves until...
//   server.stop();                          // ...another thread says stop (an eventfd wakes it)
//   t.join();
//
// It is the chapter's worked example and also the "raw epoll" baseline that chapter 4's benchmark
// runs in-process, so the hot path allocates nothing (each connection slot keeps its buffer) and
// narrates nothing unless a Narrator is given.
//
// When the machine is full (accept4 fails with EMFILE and friends) it stops watching the listener,
// serves the connections it has, and tries again every 100 ms: see evq/common/accept_pause.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "evq/common/narrate.hpp"
#include "evq/common/unique_fd.hpp"

namespace evq::epoll {

enum class Trigger {
  level,  // EPOLLIN, swapped for EPOLLOUT while output is pending; one read per event
  edge,   // EPOLLIN|EPOLLOUT|EPOLLET registered once; every event drains the socket to EAGAIN
};

struct EchoServerOptions {
  Trigger trigger = Trigger::edge;
  std::size_t buffer_size = 16 * 1024;  // per connection, allocated once per slot
  std::size_t max_events = 256;         // epoll_wait batch size
  Narrator* narrator = nullptr;         // null: silent. Used only from the thread that calls run().
  int narrate_limit = 4;  // per kind of step (accept, read/write, MOD, close) before going quiet
};

struct EchoStats {
  std::uint64_t accepted = 0;
  std::uint64_t closed = 0;
  std::uint64_t bytes_echoed = 0;
  std::uint64_t wakeups = 0;        // epoll_wait calls that returned
  std::uint64_t write_waits = 0;    // times an echo found the send buffer full and waited for EPOLLOUT
  std::uint64_t errors = 0;         // connections that ended in an error (a reset) instead of a FIN
  std::uint64_t accept_pauses = 0;  // times accept ran out of descriptors and paused (see accept_all)
  std::uint64_t open() const { return accepted - closed; }
};

class EchoServer {
 public:
  // Takes the listening socket (made non-blocking here); creates the epoll instance and eventfd.
  explicit EchoServer(UniqueFd listener, EchoServerOptions options = {});
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  std::uint16_t port() const;
  // Serves on the calling thread until stop(). Call it once.
  void run();
  // Thread-safe; run() returns soon after. Calling it before run() makes run() return at once.
  void stop();
  // Thread-safe snapshot of the counters.
  EchoStats stats() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace evq::epoll
