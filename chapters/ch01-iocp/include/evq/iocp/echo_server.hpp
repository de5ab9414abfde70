// An echo server on one completion port, served by a pool of threads: AcceptEx, WSARecv, WSASend.
//
//   listener --AcceptEx--> accepted socket --WSARecv--> buffer --WSASend--> back to the peer --WSARecv--> ...
//
// Every overlapped operation has a context (IoContext, in echo_server.cpp) that owns its OVERLAPPED and
// its buffer and outlives the operation: it is freed only after the operation's packet is dequeued.
// Each connection has exactly one operation in flight at a time, so only the thread that dequeued its
// packet touches it: no locks per connection.
//
// The pool follows the rule of thumb of Microsoft's "I/O Completion Ports" article: concurrency =
// CPUs, threads = 2 x CPUs. stop() posts one "quit" packet per thread (the port is FIFO, so each thread
// takes one and leaves), then closes every socket and drains the packets of the cancelled operations
// before freeing their contexts.
//
// Out of sockets (WSASocket or AcceptEx fails with WSAEMFILE, WSAENOBUFS...), an accept that could
// not be started is owed, not forgotten: workers then wait with a 100 ms timeout instead of INFINITE,
// and the one whose wait times out starts the owed accepts again. So the server keeps serving what it
// has, never spins, and accepts again once sockets free up (evq/common/accept_pause.hpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "evq/common/narrate.hpp"
#include "evq/common/win32.hpp"
#include "evq/iocp/completion_port.hpp"

namespace evq::iocp {

struct EchoServerOptions {
  DWORD concurrency = 0;           // 0: the number of CPUs
  unsigned threads = 0;            // 0: twice the number of CPUs
  unsigned accepts_in_flight = 4;  // AcceptEx calls kept pending, so bursts of connects are absorbed
  std::size_t buffer_size = 4096;
  bool ipv6 = false;             // listen on ::1 instead of 127.0.0.1
  Narrator* narrator = nullptr;  // narrates set-up and shutdown (not every packet); may be null
};

struct EchoStats {
  std::uint64_t accepted = 0;      // connections taken by AcceptEx
  std::uint64_t closed_clean = 0;  // the peer half-closed (WSARecv got 0 bytes) and we finished
  std::uint64_t closed_error = 0;  // a WSARecv/WSASend failed (reset, aborted): the connection was dropped
  std::uint64_t bytes_echoed = 0;
  std::uint64_t accept_pauses = 0;  // times an accept could not be started (out of sockets)
};

struct IoContext;  // one overlapped operation in flight: defined in echo_server.cpp

class EchoServer {
 public:
  // Listens on 127.0.0.1 (or ::1) port 0, starts the accepts and the threads.
  explicit EchoServer(EchoServerOptions options = {});
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  std::uint16_t port() const { return listen_port_; }
  unsigned threads() const { return static_cast<unsigned>(threads_.size()); }
  DWORD concurrency() const { return concurrency_; }
  EchoStats stats() const;
  // Connections open right now.
  std::size_t open_connections() const;
  // Contexts whose operation has not been dequeued yet (pending accepts included). 0 after stop():
  // anything else would be a context that leaked, or one freed while the kernel still owned it.
  std::size_t operations_in_flight() const;

  // Posts one quit packet per thread, joins them, cancels and drains every operation. Idempotent.
  void stop();

 private:
  void worker();
  // Each returns normally; a failure only ever ends the one connection it concerns.
  void handle(IoContext* context, bool ok, DWORD bytes);
  bool start_accept();  // false if it could not be started (then it is owed)
  void start_owed_accepts();
  void on_accepted(IoContext* context, bool ok);
  void receive(IoContext* context);
  void send_rest(IoContext* context);
  void finish(IoContext* context, bool clean);

  void track(IoContext* context);
  void forget(IoContext* context);

  EchoServerOptions options_;
  WsaSession wsa_;
  DWORD concurrency_;
  CompletionPort port_;
  UniqueSocket listener_;
  int family_ = AF_INET;  // the listener's, so every AcceptEx socket is made of the same family
  std::uint16_t listen_port_ = 0;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;

  mutable std::mutex mutex_;  // guards contexts_: every context with an operation in flight
  std::unordered_set<IoContext*> contexts_;

  std::atomic<std::uint64_t> accepted_{0}, closed_clean_{0}, closed_error_{0}, bytes_echoed_{0},
      accept_pauses_{0};
  std::atomic<unsigned> owed_accepts_{0};  // accepts that could not be started: retried every 100 ms
};

}  // namespace evq::iocp
