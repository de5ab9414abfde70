// A thread pool on a port, following the rule of thumb of Microsoft's "I/O Completion Ports": the port's concurrency is the
// number of CPUs, and the pool has twice as many threads, so that when a running thread blocks
// elsewhere (inside a BlockingScope) another one is already waiting to take its place.
//
//   evq::port::Port port;                         // concurrency = CPUs
//   evq::port::ThreadPool pool(port, [](const evq::port::Packet& p) { ... });  // 2 x CPUs threads
//   port.post(42);
//   ...
//   pool.stop();                                  // closes the port, joins the threads
//
// Given a PortIo made with Driver::callers, the pool's threads also drive its ch04 queue: a thread
// that comes back for work takes a turn at the queue (PortIo::poll) if nobody else is, and waits in
// get() otherwise. The first completion its turn brings it handles itself, so that one crosses no
// thread; the others it posts into the port, for whoever the port releases.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "evq/port/port.hpp"
#include "evq/port/port_io.hpp"

namespace evq::port {

// Threads for a port of concurrency `concurrency`: twice that (that article's rule of thumb).
unsigned pool_size_for(unsigned concurrency);

class ThreadPool {
 public:
  using Handler = std::function<void(const Packet&)>;

  // Starts `threads` workers (0 means pool_size_for(port.concurrency())). Each one loops
  // get() -> handler(packet) until the port is closed. A handler that throws stops that worker;
  // the first exception is kept for stop() to rethrow.
  // With `drive` (a PortIo on this port, made with Driver::callers), they take turns at its queue
  // whenever the port has nothing for them; it must outlive the pool.
  ThreadPool(Port& port, Handler handler, unsigned threads = 0, std::string name = "worker",
             PortIo* drive = nullptr);
  // Calls stop().
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  std::size_t size() const { return threads_.size(); }
  // Packets the handlers have finished so far.
  std::size_t handled() const { return handled_.load(std::memory_order_relaxed); }

  // Closes the port (queued packets are dropped) and joins every worker. Rethrows the first
  // exception a handler threw. Idempotent.
  void stop();

 private:
  void run(unsigned index);
  // The next packet for this thread, or why there is none. `queued_in_a_row` is the caller's count
  // of packets taken from the port without a turn at the ch04 queue in between.
  GetResult next(unsigned& queued_in_a_row);
  static constexpr unsigned kQueuedBeforeTurn = 64;

  Port& port_;
  Handler handler_;
  PortIo* drive_;
  std::string name_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> handled_{0};
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
};

}  // namespace evq::port
