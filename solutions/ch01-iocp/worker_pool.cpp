// Lab ch01/worker_pool — reference solution.
#include "evq/iocp/lab/worker_pool.hpp"

#include <stdexcept>

namespace evq::iocp::lab {

WorkerPool::WorkerPool(const CompletionPort& port, unsigned threads, Handler handler)
    : port_(port), handler_(std::move(handler)) {
  if (threads == 0) throw std::invalid_argument("WorkerPool: threads must be at least 1");
  for (unsigned i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        GetResult r = port_.get(std::nullopt);
        if (r.status == GetStatus::closed) return;
        if (!r.has_packet()) continue;
        if (r.packet.key == kStopKey) return;  // one stop packet ends exactly this thread
        handler_(r);
      }
    });
  }
}

WorkerPool::~WorkerPool() {
  stop();
}

void WorkerPool::stop() {
  if (stopped_) return;
  stopped_ = true;
  // Posted after everything already queued, so FIFO order drains the earlier packets first.
  for (std::size_t i = 0; i < threads_.size(); ++i) port_.post(kStopKey);
  for (auto& t : threads_) t.join();
}

unsigned WorkerPool::threads() const {
  return static_cast<unsigned>(threads_.size());
}

}  // namespace evq::iocp::lab
