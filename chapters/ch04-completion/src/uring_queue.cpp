#include "evq/completion/uring_queue.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/core.h>
#include <stdexcept>

#include "evq/common/error.hpp"
#include "uring_ring.hpp"

namespace evq::completion {
namespace {
// CQE user data that is not an Operation*: the eventfd read and the cancel requests themselves.
constexpr std::uint64_t kWakeTag = 1;
constexpr std::uint64_t kCancelTag = 2;

void make_blocking(int fd) {
  // io_uring never blocks the thread that submits; on a blocking socket it arms a poll and retries,
  // which is what we want. (Older kernels answered -EAGAIN for O_NONBLOCK sockets instead.)
  int flags = check(::fcntl(fd, F_GETFL), "fcntl(F_GETFL)");
  if (flags & O_NONBLOCK) check(::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK), "fcntl(F_SETFL, blocking)");
}
}  // namespace

struct UringQueue::Operation {
  Op op = Op::post;
  UserData user_data = 0;
  std::byte* data = nullptr;
  std::size_t size = 0;
  std::size_t done = 0;  // write: bytes already sent
  Endpoint to{};         // connect: must stay put until the CQE, the kernel reads it
  int fd = -1;
  bool input = true;  // which queue of its socket it is in
  bool cancel_requested = false;
  SocketState* socket = nullptr;
};

struct UringQueue::SocketState {
  int fd = -1;
  OperationQueue input, output;  // the front one is in flight when *_busy
  bool input_busy = false, output_busy = false;
  bool idle() const { return !input_busy && !output_busy; }
};

std::string UringQueue::unavailable_reason() {
  io_uring ring;
  if (int rc = io_uring_queue_init(4, &ring, 0); rc < 0)
    return fmt::format("io_uring_queue_init failed: {} (kernel too old, io_uring disabled, or seccomp)",
                       std::strerror(-rc));
  std::string reason;
  if (!(ring.features & IORING_FEAT_EXT_ARG))
    reason = "the kernel lacks IORING_FEAT_EXT_ARG (needs Linux 5.11+)";
  if (io_uring_probe* probe = io_uring_get_probe_ring(&ring)) {
    for (int op : {IORING_OP_RECV, IORING_OP_SEND, IORING_OP_ACCEPT, IORING_OP_CONNECT,
                   IORING_OP_ASYNC_CANCEL, IORING_OP_READ})
      if (!io_uring_opcode_supported(probe, op) && reason.empty())
        reason = fmt::format("the kernel does not support io_uring opcode {}", op);
    io_uring_free_probe(probe);
  } else if (reason.empty()) {
    reason = "the kernel cannot probe io_uring opcodes (needs Linux 5.6+)";
  }
  io_uring_queue_exit(&ring);
  return reason;
}

UringQueue::UringQueue(unsigned entries) : wakeup_(check(::eventfd(0, EFD_CLOEXEC), "eventfd(EFD_CLOEXEC)")) {
  detail::init_one_submitter_ring(ring_, entries);  // SINGLE_ISSUER | DEFER_TASKRUN, or what the kernel has
  arm_wakeup();
}

UringQueue::~UringQueue() {
  // Buffers are lent until their CQE: cancel what is in flight and wait (boundedly) for the CQEs,
  // so no kernel write can land in memory the caller frees after we return.
  for (NativeSocket fd : sockets_.sockets()) cancel(fd);
  if (wakeup_armed_) {
    io_uring_sqe* sqe = next_sqe();
    io_uring_prep_cancel64(sqe, kWakeTag, 0);
    io_uring_sqe_set_data64(sqe, kCancelTag);
  }
  __kernel_timespec ts{1, 0};
  try {
    enable();
  } catch (const std::system_error&) {
    // Nothing was ever submitted, so nothing is in flight: io_uring_queue_exit below is enough.
  }
  for (int rounds = 0; (in_flight_ > 0 || wakeup_armed_) && rounds < 10; ++rounds) {
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR) break;
    reap();
  }
  io_uring_queue_exit(&ring_);
}

void UringQueue::enable() {
  detail::enable_ring(ring_, enabled_);
}

io_uring_sqe* UringQueue::next_sqe() {
  return detail::next_sqe(ring_, enabled_);
}

void UringQueue::arm_wakeup() {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_read(sqe, wakeup_.get(), &wakeup_count_, sizeof wakeup_count_, 0);
  io_uring_sqe_set_data64(sqe, kWakeTag);
  wakeup_armed_ = true;
}

void UringQueue::attach(NativeSocket fd) {
  sockets_.add(fd, backend(), [&] { make_blocking(fd); }).fd = fd;
}

void UringQueue::detach(NativeSocket fd) {
  if (!sockets_.find(fd)) return;
  cancel(fd);
  // An operation in flight holds the kernel's own reference to the file, so closing the fd does not
  // end it; its CQE still points at this state, which stays retired until then.
  sockets_.retire(sockets_.remove(fd));
}

void UringQueue::accept(NativeSocket listener, UserData user_data) {
  SocketState& s = sockets_.get(listener, "accept", backend());
  enqueue(s, new_operation(Op::accept, user_data));
}

void UringQueue::connect(NativeSocket fd, const Endpoint& to, UserData user_data) {
  SocketState& s = sockets_.get(fd, "connect", backend());
  auto op = new_operation(Op::connect, user_data);
  op->to = to;
  op->input = false;
  enqueue(s, std::move(op));
}

void UringQueue::read(NativeSocket fd, std::span<std::byte> buffer, UserData user_data) {
  SocketState& s = sockets_.get(fd, "read", backend());
  enqueue(s, new_operation(Op::read, user_data, buffer.data(), buffer.size()));
}

void UringQueue::write(NativeSocket fd, std::span<const std::byte> buffer, UserData user_data) {
  SocketState& s = sockets_.get(fd, "write", backend());
  auto op = new_operation(Op::write, user_data, const_cast<std::byte*>(buffer.data()), buffer.size());
  op->input = false;
  enqueue(s, std::move(op));
}

std::unique_ptr<UringQueue::Operation> UringQueue::new_operation(Op kind, UserData user_data, std::byte* data,
                                                                 std::size_t size) {
  std::unique_ptr<Operation> op;
  if (spare_.empty()) {
    op = std::make_unique<Operation>();
  } else {
    op = std::move(spare_.back());
    spare_.pop_back();
    *op = Operation{};
  }
  op->op = kind;
  op->user_data = user_data;
  op->data = data;
  op->size = size;
  return op;
}

void UringQueue::enqueue(SocketState& s, std::unique_ptr<Operation> op) {
  ++pending_;
  op->fd = s.fd;
  op->socket = &s;
  OperationQueue& queue = op->input ? s.input : s.output;
  queue.push_back(std::move(op));
  if (!(queue.front()->input ? s.input_busy : s.output_busy)) start(queue);
}

// [snippet uring-start]
void UringQueue::start(OperationQueue& queue) {
  Operation& op = *queue.front();
  io_uring_sqe* sqe = next_sqe();
  switch (op.op) {
    case Op::read:
      io_uring_prep_recv(sqe, op.fd, op.data, op.size, 0);
      break;
    case Op::write:
      io_uring_prep_send(sqe, op.fd, op.data + op.done, op.size - op.done, MSG_NOSIGNAL);
      break;
    case Op::accept:
      io_uring_prep_accept(sqe, op.fd, nullptr, nullptr, SOCK_CLOEXEC);
      break;
    case Op::connect:
      io_uring_prep_connect(sqe, op.fd, op.to.get(), op.to.length);
      break;
    case Op::post:
      break;
  }
  io_uring_sqe_set_data(sqe, &op);  // the CQE brings this pointer back
  (op.input ? op.socket->input_busy : op.socket->output_busy) = true;
  ++in_flight_;
  // Not submitted yet: wait() hands every prepared entry to the kernel in one io_uring_enter.
}
// [/snippet uring-start]

// [snippet uring-cancel]
void UringQueue::cancel(NativeSocket fd) {
  SocketState* state = sockets_.find(fd);
  if (!state) return;
  SocketState& s = *state;
  for (auto [queue, busy] : {std::pair{&s.input, s.input_busy}, std::pair{&s.output, s.output_busy}}) {
    // Not yet given to the kernel: abort here and now.
    auto first_waiting = queue->begin() + (busy ? 1 : 0);
    for (auto op = first_waiting; op != queue->end(); ++op)
      ready_.finish(**op, (*op)->done, operation_aborted());
    queue->erase(first_waiting, queue->end());
    // In the kernel: ask it to cancel; the operation's own CQE says how it ended (-ECANCELED, or its
    // real result if it finished first). The buffer is ours again only then.
    if (busy) request_cancel(*queue->front());
  }
}
// [/snippet uring-cancel]

void UringQueue::request_cancel(Operation& op) {
  if (op.cancel_requested) return;
  op.cancel_requested = true;
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_cancel(sqe, &op, 0);
  io_uring_sqe_set_data64(sqe, kCancelTag);
}

void UringQueue::on_cqe(const io_uring_cqe& cqe) {
  std::uint64_t tag = io_uring_cqe_get_data64(&cqe);
  if (tag == kCancelTag) return;  // the cancel request's own answer; the operation's CQE is what counts
  if (tag == kWakeTag) {
    wakeup_armed_ = false;  // take_posts() arms it again
    return;
  }
  auto* op = static_cast<Operation*>(io_uring_cqe_get_data(&cqe));
  SocketState& s = *op->socket;
  finish(op->input ? s.input : s.output, cqe.res);
  sockets_.release_if_done(s);
}

// [snippet uring-finish]
void UringQueue::finish(OperationQueue& queue, int res) {
  Operation& op = *queue.front();
  SocketState& s = *op.socket;
  --in_flight_;
  (op.input ? s.input_busy : s.output_busy) = false;
  if (op.op == Op::write && res > 0) {
    op.done += static_cast<std::size_t>(res);
    if (op.done < op.size && !op.cancel_requested) return start(queue);  // a short send: send the rest
  }
  std::error_code error;
  if (res == -ECANCELED || (res == -EINTR && op.cancel_requested))
    error = operation_aborted();
  else if (res < 0)
    error = errno_code(-res);
  switch (op.op) {
    case Op::read:
      ready_.finish(op, res > 0 ? static_cast<std::size_t>(res) : 0, error);
      break;
    case Op::write:
      ready_.finish(op, op.done, op.done < op.size && !error ? operation_aborted() : error);
      break;
    case Op::accept:
      ready_.finish(op, 0, error, res >= 0 ? OwnedSocket(res) : OwnedSocket());
      break;
    case Op::connect:
    case Op::post:
      ready_.finish(op, 0, error);
      break;
  }
  // Reuse it, unless a cancel request named its address: never let that request meet a newcomer.
  if (!op.cancel_requested && spare_.size() < 1024) spare_.push_back(std::move(queue.front()));
  queue.pop_front();
  if (!queue.empty()) start(queue);  // the next operation of this socket and direction
}
// [/snippet uring-finish]

void UringQueue::post(UserData user_data, std::size_t bytes) {
  posts_.add(user_data, bytes);
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wakeup_.get(), &one, sizeof one);  // completes the ring's pending read
}

void UringQueue::take_posts() {
  if (!wakeup_armed_) arm_wakeup();
  posts_.take_into(ready_);
}

void UringQueue::reap() {
  io_uring_cqe* cqe;
  unsigned head, seen = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    on_cqe(*cqe);
    ++seen;
  }
  io_uring_cq_advance(&ring_, seen);
}

// [snippet uring-wait]
std::size_t UringQueue::wait(std::span<Completion> out, std::optional<std::chrono::milliseconds> timeout) {
  enable();
  take_posts();
  // One io_uring_enter both submits every prepared entry and, when nothing is ready yet, sleeps
  // until a CQE arrives or the timeout passes.
  io_uring_cqe* cqe = nullptr;
  if (ready_.empty()) {
    __kernel_timespec ts{};
    if (timeout) {
      ts.tv_sec = timeout->count() / 1000;
      ts.tv_nsec = (timeout->count() % 1000) * 1'000'000;
    }
    int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, timeout ? &ts : nullptr, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR) throw_errno("io_uring_submit_and_wait_timeout", -rc);
  } else if (io_uring_sq_ready(&ring_) > 0) {
    io_uring_submit(&ring_);
  }
  reap();
  take_posts();
  CompletionFifo::HandedOut handed = ready_.hand_out(out);
  pending_ -= handed.operations;  // posts were never counted as pending
  return handed.count;
}
// [/snippet uring-wait]

}  // namespace evq::completion
