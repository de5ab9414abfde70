// A multithreaded echo server: several threads wait on ONE epoll instance, and every socket is
// registered with EPOLLONESHOT, so one event disarms it and exactly one thread serves it until that
// thread re-arms it with EPOLL_CTL_MOD. No two threads ever touch the same connection at once, so
// the connections need no locks; only the table that hands out tokens does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "evq/common/narrate.hpp"
#include "evq/common/unique_fd.hpp"
#include "evq/epoll/echo_server.hpp"

namespace evq::epoll {

struct OneshotEchoServerOptions {
  int threads = 4;
  std::size_t buffer_size = 16 * 1024;
  std::size_t max_events = 16;
  Narrator* narrator = nullptr;  // shared by the workers behind a mutex; null: silent
  int narrate_limit = 4;         // per kind of step (accept, read/write, MOD, close) before going quiet
};

class OneshotEchoServer {
 public:
  explicit OneshotEchoServer(UniqueFd listener, OneshotEchoServerOptions options = {});
  ~OneshotEchoServer();
  OneshotEchoServer(const OneshotEchoServer&) = delete;
  OneshotEchoServer& operator=(const OneshotEchoServer&) = delete;

  std::uint16_t port() const;
  // Starts options.threads workers on the one epoll instance and returns when they have all left
  // after stop(). Call it once.
  void run();
  void stop();  // thread-safe
  EchoStats stats() const;
  // How many events each worker served: shows the work spreads over the threads.
  std::vector<std::uint64_t> events_per_thread() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace evq::epoll
