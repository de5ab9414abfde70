// A single-threaded echo server on kqueue: the shape of every readiness loop, told with kqueue.
//
// What is kqueue-specific is the batching: changes (register a new connection, start or stop watching
// for writability) are not applied one syscall at a time as with epoll_ctl; they are collected in a
// changelist and handed to the same kevent() call that waits for the next events.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "evq/common/narrate.hpp"
#include "evq/common/net.hpp"
#include "evq/common/unique_fd.hpp"
#include "evq/kq/kqueue.hpp"

namespace evq::kq {

struct EchoStats {
  std::size_t accepted = 0;
  std::size_t closed = 0;  // connections finished (end of stream, reset or error)
  std::size_t resets = 0;  // of which ended by a reset or an error from the peer
  std::size_t bytes_echoed = 0;
  std::size_t kevent_calls = 0;
  std::size_t changes_batched = 0;  // changes that rode along with a kevent() that also waited
  std::size_t change_errors = 0;    // EV_ERROR answers seen in the eventlist
  std::size_t read_pauses = 0;      // times a connection hit kMaxPending and stopped being read
  std::size_t accept_pauses = 0;    // times accept() found the machine full and paused
};

// The most bytes one connection may have read and not yet echoed back.
inline constexpr std::size_t kMaxPending = 64 * 1024;

class EchoServer {
 public:
  // Listens on 127.0.0.1 (or ::1), port 0, and registers the listener and a stop event. With a
  // narrator, the setup and the first `narrate_batches` kevent() calls are told step by step.
  explicit EchoServer(Narrator* narrator = nullptr, int narrate_batches = 0, Family family = Family::v4);
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  std::uint16_t port() const;

  // Serves until stop() is called or `until` passes. Call from one thread.
  void run(std::optional<std::chrono::steady_clock::time_point> until = std::nullopt);

  // From any thread: triggers the EVFILT_USER stop event, so run() returns.
  void stop();

  // Read after run() returns (or from the thread that runs it).
  const EchoStats& stats() const;
  std::size_t open_connections() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace evq::kq
