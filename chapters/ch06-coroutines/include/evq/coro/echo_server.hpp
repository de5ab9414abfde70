// The echo server of chapter 4, written as coroutines: one for the listener, one per connection,
// each a loop that reads as if it could block. Compare chapters/ch04-completion/src/echo_server.cpp,
// where the same steps are a switch on each completion's operation.
//
// It stands the same attacks (the hostile-client suite runs against it): a peer that never reads
// holds one buffer and one pending write, no more (the connection's coroutine is suspended in
// that write and reads nothing meanwhile); an accept that fails because the machine is full waits
// 100 ms before the next one (sleep_for), serving the others meanwhile; stop() cancels the listener
// and every connection, and the coroutines end by themselves.
#pragma once

#include <cstdint>
#include <set>

#include "evq/coro/loop.hpp"

namespace evq::coro {

class EchoServer {
 public:
  struct Stats {
    std::uint64_t accepted = 0;
    std::uint64_t closed = 0;
    std::uint64_t bytes_echoed = 0;
    std::uint64_t errors = 0;
    std::uint64_t accept_pauses = 0;
  };

  // `listener` is a listening socket the caller owns; the server attaches it.
  EchoServer(Loop& loop, NativeSocket listener);
  ~EchoServer();
  // Serves until stop(); returns once every connection's coroutine has ended.
  void run();
  // Thread-safe.
  void stop() { loop_.request_stop(); }
  const Stats& stats() const { return stats_; }

 private:
  Task<void> accept_loop();
  Task<void> connection(completion::OwnedSocket sock);
  static void on_stop(void* self);

  Loop& loop_;
  NativeSocket listener_;
  Stats stats_;
  std::set<NativeSocket> open_;  // to cancel them all at stop()
  bool stopping_ = false;
};

}  // namespace evq::coro
