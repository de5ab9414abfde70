// The completion interface over io_uring (Linux 5.6+, through liburing): Linux's own completion queue.
//
// Here the kernel does what the epoll backend does by hand: an IORING_OP_RECV with our buffer is the
// lent read, and its CQE is the completion. What is left for the backend: one operation in flight per
// socket and direction (so writes cannot interleave and a short send can be finished), cancel through
// IORING_OP_ASYNC_CANCEL, and post() through an eventfd the ring always has a read pending on.
#pragma once

#include <liburing.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "evq/common/unique_fd.hpp"
#include "evq/completion/completion_fifo.hpp"
#include "evq/completion/post_box.hpp"
#include "evq/completion/socket_table.hpp"
#include "evq/completion/queue.hpp"

namespace evq::completion {

class UringQueue final : public CompletionQueue {
 public:
  // Throws std::system_error("io_uring_queue_init") where the kernel refuses (too old, disabled by
  // /proc/sys/kernel/io_uring_disabled, or blocked by seccomp in a container).
  explicit UringQueue(unsigned entries = 256);
  // Cancels what is in flight and waits (at most a few seconds) for its CQEs. With a
  // SINGLE_ISSUER ring only the waiting thread may submit, so destroy the queue on that thread, or
  // after every completion has been reaped (as EchoServer's shutdown does); otherwise the kernel
  // cancels the leftovers as the ring closes, and their buffers must outlive that.
  ~UringQueue() override;

  // Why this kernel cannot run the backend, or "" when it can (a small ring is tried and probed).
  static std::string unavailable_reason();

  std::string_view backend() const override { return "io_uring"; }
  void attach(NativeSocket sock) override;
  void detach(NativeSocket sock) override;
  void accept(NativeSocket listener, UserData user_data) override;
  void connect(NativeSocket sock, const Endpoint& to, UserData user_data) override;
  void read(NativeSocket sock, std::span<std::byte> buffer, UserData user_data) override;
  void write(NativeSocket sock, std::span<const std::byte> buffer, UserData user_data) override;
  void post(UserData user_data, std::size_t bytes = 0) override;
  void cancel(NativeSocket sock) override;
  std::size_t wait(std::span<Completion> out, std::optional<std::chrono::milliseconds> timeout) override;
  std::size_t pending() const override { return pending_; }

 private:
  struct Operation;
  struct SocketState;
  using OperationQueue = std::deque<std::unique_ptr<Operation>>;

  std::unique_ptr<Operation> new_operation(Op op, UserData user_data, std::byte* data = nullptr,
                                           std::size_t size = 0);
  void enqueue(SocketState& s, std::unique_ptr<Operation> op);
  void start(OperationQueue& queue);
  void request_cancel(Operation& op);
  io_uring_sqe* next_sqe();
  void enable();
  void on_cqe(const io_uring_cqe& cqe);
  void finish(OperationQueue& queue, int res);
  void arm_wakeup();
  void take_posts();
  void reap();

  io_uring ring_{};
  bool enabled_ = false;              // R_DISABLED rings start disabled until the waiting thread enables them
  SocketTable<SocketState> sockets_;  // detached ones retired until their in-flight operations end
  CompletionFifo ready_;
  std::size_t pending_ = 0;
  std::size_t in_flight_ = 0;
  std::vector<std::unique_ptr<Operation>> spare_;  // finished Operations, reused: no malloc per operation

  UniqueFd wakeup_;                 // eventfd; the ring keeps one read on it pending
  std::uint64_t wakeup_count_ = 0;  // that read's buffer
  bool wakeup_armed_ = false;
  PostBox posts_;
};

}  // namespace evq::completion
