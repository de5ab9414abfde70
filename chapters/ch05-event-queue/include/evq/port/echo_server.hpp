// An echo server on the port and its thread pool: the shape of a real IOCP server.
//
// The listener and every connection are associated with the port (PortIo) under a completion key;
// the pool's threads (2 x CPUs, concurrency = CPUs) loop on port.get() and each packet says what
// finished: an accept (key 0), a read or a write (key = connection id). A connection always has
// exactly one operation in flight, so only the thread handling its packet touches it.
//
// An accept that fails because the machine is full (EMFILE, ...) is not issued again at once: the
// thread that got its packet waits 100 ms inside a BlockingScope (so the port may run another
// thread meanwhile) and then issues one accept again (evq/common/accept_pause.hpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "evq/common/accept_pause.hpp"
#include "evq/port/port.hpp"
#include "evq/port/port_io.hpp"
#include "evq/port/thread_pool.hpp"

namespace evq::port {

class EchoServer {
 public:
  struct Stats {
    std::uint64_t accepted = 0, closed = 0, reset = 0, bytes_echoed = 0;
    std::uint64_t accept_pauses = 0;  // times accepting paused because the machine was full
  };

  // Takes a listening socket; accepts on it until stop(). `concurrency` 0 means CPUs, `threads`
  // 0 means 2 x concurrency. `backend` picks the ch04 queue (empty: the default).
  EchoServer(OwnedSocket listener, unsigned concurrency = 0, unsigned threads = 0,
             const std::string& backend = "");
  ~EchoServer();  // stop()

  // Stops accepting, closes every connection, stops the pool. Idempotent.
  void stop();

  Stats stats() const;
  std::size_t open_connections() const;
  std::size_t pool_size() const { return pool_ ? pool_->size() : 0; }
  std::string backend() const { return io_->backend(); }
  Port& port() { return port_; }

 private:
  struct Connection {
    OwnedSocket socket;
    std::vector<std::byte> buffer;
  };
  enum class Step : std::uint64_t { accept = 1, read = 2, write = 3 };
  void handle(const Packet& packet);
  void on_accept(const Packet& packet);
  void pause_accepting(std::error_code why);
  void on_io(const Packet& packet);
  void drop(std::uint64_t id);

  Port port_;
  std::unique_ptr<PortIo> io_;
  OwnedSocket listener_;
  mutable std::mutex mutex_;  // guards connections_ and stats_
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::uint64_t next_id_ = 1;
  Stats stats_;
  AcceptPause pause_;  // guarded by mutex_
  std::atomic<bool> stopping_{false};
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace evq::port
