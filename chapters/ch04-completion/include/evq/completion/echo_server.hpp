// An echo server written once against CompletionQueue, so it runs on every backend unchanged.
//
// Each connection owns one buffer and is always doing exactly one thing: reading into the buffer, or
// writing back what the read brought. The buffer is lent to the queue for each operation, and the
// connection is destroyed only after its last completion came back (the lending contract).
//
// An accept that fails because the machine is full (is_machine_full: EMFILE, ...) is not issued again
// at once, which would complete at once with the same error, for ever: run() waits 100 ms (serving
// the connections it has meanwhile) and then issues one accept again (evq/common/accept_pause.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "evq/common/accept_pause.hpp"
#include "evq/common/narrate.hpp"
#include "evq/completion/queue.hpp"

namespace evq::completion {

class EchoServer {
 public:
  struct Stats {
    std::uint64_t accepted = 0;
    std::uint64_t closed = 0;  // by the peer, or by stop() for those still open then
    std::uint64_t bytes_echoed = 0;
    std::uint64_t errors = 0;         // connections that ended with an error (reset, ...) rather than EOF
    std::uint64_t accept_pauses = 0;  // times accepting paused because the machine was full
  };

  // `listener` is a listening socket the caller owns; the server attaches it and keeps one accept
  // pending on it.
  EchoServer(CompletionQueue& queue, NativeSocket listener, std::size_t buffer_size = 16 * 1024);
  ~EchoServer();  // cancels everything and waits (boundedly) for the completions: see stop()

  // One wait() on the queue, then the completions it returned are handled, and a paused accept is
  // issued again if its retry is due. Returns how many completions it handled. `timeout` is cut
  // short while accepting is paused.
  std::size_t run_once(std::optional<std::chrono::milliseconds> timeout);
  // Calls run_once until stop() is called (from any thread).
  void run();
  // With a narrator, the server tells when accepting pauses and resumes (nothing per connection).
  void narrate_to(Narrator* narrator) { narrator_ = narrator; }
  // Thread-safe: makes run() return (through the queue's post()).
  void stop();

  const Stats& stats() const { return stats_; }
  std::size_t open_connections() const { return connections_.size(); }

 private:
  struct Connection {
    OwnedSocket socket;
    std::vector<std::byte> buffer;
    bool closing = false;
  };
  void handle(Completion& c);
  void on_accept(Completion& c);
  void close(Connection* conn);
  void shutdown();

  CompletionQueue& queue_;
  NativeSocket listener_;
  std::size_t buffer_size_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;  // owner; keyed by address
  bool stopping_ = false;
  bool shut_down_ = false;
  AcceptPause pause_;
  Narrator* narrator_ = nullptr;
  Stats stats_;
  std::vector<Completion> batch_;
};

}  // namespace evq::completion
