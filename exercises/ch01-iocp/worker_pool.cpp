// YOUR FILE for lab ch01/worker_pool.
// Handout: notes/ch01-iocp.md, "Lab 2: a pool that stops gracefully".
// Interface and contract: chapters/ch01-iocp/include/evq/iocp/lab/worker_pool.hpp.
// Replace every TODO(lab) body and keep the signatures; the grader builds this file and no other.
// Grade it: tools/lab grade ch01 --lab worker_pool
//
// Useful: evq::iocp::CompletionPort (get, post), std::thread.
#include "evq/iocp/lab/worker_pool.hpp"

#include <stdexcept>

namespace evq::iocp::lab {

WorkerPool::WorkerPool(const CompletionPort& port, unsigned threads, Handler handler)
    : port_(port), handler_(std::move(handler)) {
  // TODO(lab): reject threads == 0; start `threads` threads that loop in port_.get(), leave on a
  // packet with kStopKey (or a closed port) and give every other packet to handler_.
  (void)threads;
  throw std::logic_error("TODO(lab): WorkerPool::WorkerPool");
}

WorkerPool::~WorkerPool() {
  // TODO(lab): stop the pool if stop() was not called. (A destructor must not throw.)
}

void WorkerPool::stop() {
  // TODO(lab): post one kStopKey packet per thread, then join them all. Only once.
  throw std::logic_error("TODO(lab): WorkerPool::stop");
}

unsigned WorkerPool::threads() const {
  // TODO(lab): how many threads the pool started.
  throw std::logic_error("TODO(lab): WorkerPool::threads");
}

}  // namespace evq::iocp::lab
