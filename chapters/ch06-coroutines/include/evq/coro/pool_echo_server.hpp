// The echo server of chapter 5 (chapters/ch05-event-queue/src/echo_server.cpp, callbacks on the
// port's pool), written as coroutines on the Pool: one coroutine for the listener and one per
// connection, each resumed by whichever pool thread the port releases.
//
// What changes from the one-thread version (echo_server.hpp): the counters are atomics, and there is
// no set of open connections to cancel one by one (it would need a lock, and could still miss a read
// about to be issued): stop() is one CancelScope. Every accept, read and write is issued in it, so
// cancelling it reaches what is pending and aborts, without issuing it, whatever comes later.
// The same attacks hold (the hostile-client suite runs against it): a peer that never reads holds
// one buffer and one write; a full machine pauses accepting for 100 ms; stop() ends every coroutine.
#pragma once

#include <atomic>
#include <cstdint>

#include "evq/coro/pool.hpp"

namespace evq::coro {

class PoolEchoServer {
 public:
  struct Stats {
    std::uint64_t accepted = 0;
    std::uint64_t closed = 0;
    std::uint64_t bytes_echoed = 0;
    std::uint64_t errors = 0;
    std::uint64_t accept_pauses = 0;
  };

  // `listener` is a listening socket the caller owns and keeps open until the pool is destroyed;
  // the server associates it with the pool.
  PoolEchoServer(Pool& pool, NativeSocket listener);
  // Serves until stop(); returns once every connection's coroutine has ended. Not on a pool thread.
  void run();
  void stop() { scope_.cancel(); }  // thread-safe
  Stats stats() const;

 private:
  Task<void> accept_loop();
  Task<void> connection(OwnedSocket sock);

  Pool& pool_;
  NativeSocket listener_;
  CancelScope scope_;
  std::atomic<std::uint64_t> accepted_{0}, closed_{0}, bytes_echoed_{0}, errors_{0}, accept_pauses_{0};
};

}  // namespace evq::coro
