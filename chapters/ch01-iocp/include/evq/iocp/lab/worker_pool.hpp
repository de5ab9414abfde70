// Lab ch01/worker_pool: a pool of threads serving one completion port, and a graceful stop that
// drains what was queued before it. (Handout: notes/ch01-iocp.md, "Lab 2: a pool that stops gracefully".)
#pragma once

#include <functional>
#include <thread>
#include <vector>

#include "evq/iocp/completion_port.hpp"

namespace evq::iocp::lab {

// The key the pool posts to tell a thread to leave. Packets with this key are the pool's own: they
// never reach the handler.
inline constexpr ULONG_PTR kStopKey = ~ULONG_PTR{0};

class WorkerPool {
 public:
  // Every dequeued packet, successful I/O, failed I/O or posted, goes to the handler as get() returned it.
  using Handler = std::function<void(const GetResult&)>;

  // Starts `threads` threads; each loops in port.get() and calls `handler` for every packet.
  // threads == 0 throws std::invalid_argument. The port must outlive the pool.
  WorkerPool(const CompletionPort& port, unsigned threads, Handler handler);

  // Stops (see stop()) if stop() was not called.
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Graceful stop: every packet queued before stop() is handled first, then each thread exits;
  // returns when all threads have exited and no stop packet is left in the port. Idempotent.
  // (Hint: the port's queue is FIFO, and one stop packet ends one thread.)
  void stop();

  unsigned threads() const;

 private:
  const CompletionPort& port_;
  Handler handler_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace evq::iocp::lab
