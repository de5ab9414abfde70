#include "evq/completion/uring_multishot_echo.hpp"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fmt/core.h>
#include <stdexcept>

#include "evq/common/error.hpp"
#include "uring_ring.hpp"

namespace evq::completion {
namespace {

// Each completion's user data says what it completes. A connection's operations carry its
// address with the kind in the low bits (a Connection is 8-aligned); the server's own operations
// carry small constants that no address can be.
enum Kind : std::uint64_t { kReceive = 1, kSend = 2, kCancel = 3 };
constexpr std::uint64_t kKindMask = 7;
constexpr std::uint64_t kAcceptTag = 0x10, kWakeTag = 0x20, kIgnoreTag = 0x30;
constexpr std::uint16_t kBufferGroup = 0;

template <typename T>
std::uint64_t tag(T* p, Kind k) {
  return reinterpret_cast<std::uint64_t>(p) | k;
}

bool kernel_at_least(int major, int minor) {
  utsname u{};
  if (::uname(&u) != 0) return false;
  int have_major = 0, have_minor = 0;
  if (std::sscanf(u.release, "%d.%d", &have_major, &have_minor) != 2) return false;
  return have_major > major || (have_major == major && have_minor >= minor);
}

}  // namespace

std::string UringMultishotEcho::unavailable_reason() {
  if (!kernel_at_least(6, 0)) return "multishot receive needs Linux 6.0 or later";
  io_uring ring;
  if (int rc = io_uring_queue_init(4, &ring, 0); rc < 0)
    return fmt::format("io_uring_queue_init failed: {} (io_uring disabled, or seccomp)", std::strerror(-rc));
  io_uring_queue_exit(&ring);
  return "";
}

UringMultishotEcho::UringMultishotEcho(int listener, Options options)
    : listener_(listener), options_(options), wake_(check(::eventfd(0, EFD_CLOEXEC), "eventfd")) {
  if (options_.buffers == 0 || options_.buffers > 32768 || (options_.buffers & (options_.buffers - 1)) != 0)
    throw std::invalid_argument("UringMultishotEcho: buffers must be a power of two, at most 32768");
  if (options_.buffer_size == 0 || options_.max_held < 2)
    throw std::invalid_argument("UringMultishotEcho: a buffer needs a size, and max_held must be at least 2");
  // [snippet multishot-setup]
  detail::init_one_submitter_ring(ring_, 4096);  // as the lent-buffer backend: uring_ring.hpp
  // The provided buffers: a ring of buffer ids shared with the kernel (page-aligned memory), and
  // the pool they point into. The kernel takes an id when data arrives; we give it back later.
  buffer_ring_bytes_ = options_.buffers * sizeof(io_uring_buf);
  void* mem = ::mmap(nullptr, buffer_ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    io_uring_queue_exit(&ring_);
    throw_errno("mmap(buffer ring)");
  }
  buffer_ring_ = static_cast<io_uring_buf_ring*>(mem);
  pool_.resize(options_.buffers * options_.buffer_size);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(buffer_ring_);
  reg.ring_entries = options_.buffers;
  reg.bgid = kBufferGroup;
  if (int r = io_uring_register_buf_ring(&ring_, &reg, 0); r < 0) {
    ::munmap(buffer_ring_, buffer_ring_bytes_);
    io_uring_queue_exit(&ring_);
    throw_errno("io_uring_register_buf_ring (needs Linux 5.19)", -r);
  }
  io_uring_buf_ring_init(buffer_ring_);
  for (unsigned i = 0; i < options_.buffers; ++i)
    io_uring_buf_ring_add(buffer_ring_, pool_.data() + i * options_.buffer_size,
                          static_cast<unsigned>(options_.buffer_size), static_cast<unsigned short>(i),
                          io_uring_buf_ring_mask(options_.buffers), static_cast<int>(i));
  io_uring_buf_ring_advance(buffer_ring_, static_cast<int>(options_.buffers));
  free_buffers_ = options_.buffers;
  // [/snippet multishot-setup]
  io_uring_sqe* s = sqe();
  io_uring_prep_read(s, wake_.get(), &wake_value_, sizeof wake_value_, 0);
  io_uring_sqe_set_data64(s, kWakeTag);
  arm_accept();
}

UringMultishotEcho::~UringMultishotEcho() {
  // Whatever is still in the kernel ends with the ring; only then may the pool go.
  io_uring_queue_exit(&ring_);
  ::munmap(buffer_ring_, buffer_ring_bytes_);
}

io_uring_sqe* UringMultishotEcho::sqe() {
  return detail::next_sqe(ring_, enabled_);
}

void UringMultishotEcho::enable() {
  detail::enable_ring(ring_, enabled_);
}

// [snippet multishot-arm]
void UringMultishotEcho::arm_accept() {
  io_uring_sqe* s = sqe();
  io_uring_prep_multishot_accept(s, listener_, nullptr, nullptr, SOCK_CLOEXEC);  // one per connection
  io_uring_sqe_set_data64(s, kAcceptTag);
  accepting_ = true;
}

void UringMultishotEcho::arm_receive(Connection& c) {
  io_uring_sqe* s = sqe();
  io_uring_prep_recv_multishot(s, c.fd.get(), nullptr, 0, 0);  // no buffer of ours: the kernel picks
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(s, tag(&c, kReceive));
  c.receiving = true;
  c.paused = c.starved = false;
}
// [/snippet multishot-arm]

void UringMultishotEcho::give_back(std::uint16_t buffer) {
  io_uring_buf_ring_add(buffer_ring_, pool_.data() + buffer * options_.buffer_size,
                        static_cast<unsigned>(options_.buffer_size), buffer,
                        io_uring_buf_ring_mask(options_.buffers), 0);
  io_uring_buf_ring_advance(buffer_ring_, 1);
  ++free_buffers_;  // a starved receive is armed again at the end of this turn (run())
}

void UringMultishotEcho::feed_starved() {
  while (free_buffers_ > 0 && !starved_.empty()) {
    Connection* c = starved_.back();
    starved_.pop_back();
    if (connections_.contains(c) && c->starved && !c->ended && !c->receiving && !stopping_) arm_receive(*c);
  }
}

void UringMultishotEcho::cancel(Connection& c, std::uint64_t what) {
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, what, 0);
  io_uring_sqe_set_data64(s, tag(&c, kCancel));  // its own completion: the connection stays until then
  ++c.cancels;
}

void UringMultishotEcho::send_next(Connection& c) {
  if (c.sending || c.out.empty()) return;
  const Chunk& chunk = c.out.front();
  const std::byte* data = chunk.buffer >= 0
                              ? pool_.data() + static_cast<std::size_t>(chunk.buffer) * options_.buffer_size
                              : chunk.copy.data();
  io_uring_sqe* s = sqe();
  io_uring_prep_send(s, c.fd.get(), data + chunk.sent, chunk.length - chunk.sent, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, tag(&c, kSend));
  c.sending = true;
}

void UringMultishotEcho::on_accept(const io_uring_cqe& cqe) {
  if (!(cqe.flags & IORING_CQE_F_MORE)) accepting_ = false;  // the multishot accept has ended
  if (cqe.res >= 0) {
    auto conn = std::make_unique<Connection>();
    conn->fd = UniqueFd(cqe.res);
    Connection& c = *conn;
    connections_.emplace(&c, std::move(conn));
    ++stats_.accepted;
    pause_.end();
    if (stopping_) {
      c.ended = true;
      close_if_done(c);
    } else {
      arm_receive(c);
    }
  } else if (classify_accept_errno(-cqe.res) == AcceptError::machine_full) {
    if (pause_.begin(errno_code(-cqe.res))) ++stats_.accept_pauses;  // run() arms it again later
    return;
  }
  if (!accepting_ && !stopping_ && !pause_.paused()) arm_accept();
}

// [snippet multishot-receive]
void UringMultishotEcho::on_receive(Connection& c, const io_uring_cqe& cqe) {
  if (!(cqe.flags & IORING_CQE_F_MORE)) c.receiving = false;  // this receive is over
  if (cqe.res > 0 && (cqe.flags & IORING_CQE_F_BUFFER)) {
    // The kernel chose a buffer and says which: the data is there, and the buffer is ours until
    // we give it back. Echo it from where it lies.
    const auto id = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    const auto length = static_cast<std::uint32_t>(cqe.res);
    --free_buffers_;
    if (c.held < options_.max_held) {
      c.out.push_back(Chunk{id, {}, length, 0});
      ++c.held;
    } else {  // past the cap: the bytes must not be lost, and the pool must not be kept
      const std::byte* at = pool_.data() + std::size_t{id} * options_.buffer_size;
      c.out.push_back(Chunk{-1, std::vector<std::byte>(at, at + length), length, 0});
      give_back(id);
    }
    send_next(c);
    if (c.held >= options_.max_held && c.receiving && !c.paused) {
      c.paused = true;  // this connection holds its share of the pool: stop until its echo drains
      cancel(c, tag(&c, kReceive));
    }
  } else if (cqe.res == -ENOBUFS) {
    c.starved = true;  // every buffer was out: armed again once one is back (feed_starved)
    starved_.push_back(&c);
  } else if (cqe.res == -ECANCELED) {
    // our own cancel (the cap, or stop()): send_next() or begin_stop() decides what follows
  } else if (cqe.res == 0) {
    c.ended = true;  // end of stream: echo what is left, then close
  } else if (cqe.res < 0) {
    c.ended = true;
    ++stats_.errors;  // a reset peer, most likely
  }
  if (!c.receiving && !c.ended && !c.starved && !stopping_ && (!c.paused || drained_enough(c)))
    arm_receive(c);
  close_if_done(c);
}
// [/snippet multishot-receive]

void UringMultishotEcho::on_send(Connection& c, const io_uring_cqe& cqe) {
  c.sending = false;
  if (cqe.res <= 0) {  // the peer is gone: drop what it will never read
    drop_output(c);
    if (!c.ended) ++stats_.errors;
    c.ended = true;
    if (c.receiving) cancel(c, tag(&c, kReceive));
    close_if_done(c);
    return;
  }
  Chunk& chunk = c.out.front();
  chunk.sent += static_cast<std::uint32_t>(cqe.res);
  stats_.bytes_echoed += static_cast<std::uint64_t>(cqe.res);
  if (chunk.sent == chunk.length) {
    if (chunk.buffer >= 0) {
      give_back(static_cast<std::uint16_t>(chunk.buffer));
      --c.held;
    }
    c.out.pop_front();
    if (c.paused && !c.receiving && drained_enough(c) && !c.ended && !stopping_) arm_receive(c);
  }
  send_next(c);  // the rest of a short send, or the next chunk
  close_if_done(c);
}

// Receiving again after the cap: once the copies have gone out and half the held buffers too, so a
// connection that keeps not reading never has more than one burst copied out of the pool.
bool UringMultishotEcho::drained_enough(const Connection& c) const {
  return c.held <= options_.max_held / 2 && c.out.size() == c.held;
}

void UringMultishotEcho::drop_output(Connection& c) {
  for (const Chunk& chunk : c.out)
    if (chunk.buffer >= 0) give_back(static_cast<std::uint16_t>(chunk.buffer));
  c.out.clear();
  c.held = 0;
}

void UringMultishotEcho::close_if_done(Connection& c) {
  if (!c.ended || c.receiving || c.sending || !c.out.empty() || c.cancels > 0) return;
  ++stats_.closed;
  connections_.erase(&c);  // closes the socket; nothing in the kernel refers to it any more
}

void UringMultishotEcho::begin_stop() {
  stopping_ = true;
  pause_.end();
  if (accepting_) {
    io_uring_sqe* s = sqe();
    io_uring_prep_cancel64(s, kAcceptTag, 0);
    io_uring_sqe_set_data64(s, kIgnoreTag);
  }
  for (auto& [p, conn] : connections_) {
    Connection& c = *conn;
    c.ended = true;
    if (c.receiving) cancel(c, tag(&c, kReceive));
    if (c.sending) cancel(c, tag(&c, kSend));
  }
  std::vector<Connection*> idle;
  for (auto& [p, conn] : connections_) idle.push_back(p);
  for (Connection* c : idle) {
    if (c->sending) continue;
    drop_output(*c);
    close_if_done(*c);
  }
}

void UringMultishotEcho::run() {
  enable();
  const auto give_up_at = [] { return std::chrono::steady_clock::now() + std::chrono::seconds(5); };
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (!(stopping_ && connections_.empty() && !accepting_)) {
    // [snippet multishot-loop]
    // One system call per turn: submit everything this turn prepared, sleep until a completion.
    __kernel_timespec ts{};
    const __kernel_timespec* wait_at_most = nullptr;
    if (auto left = pause_.time_left(); left || stopping_) {
      auto ms = left ? left->count() : 50;
      ts.tv_sec = ms / 1000;
      ts.tv_nsec = (ms % 1000) * 1'000'000;
      wait_at_most = &ts;
    }
    io_uring_cqe* first = nullptr;
    int rc = io_uring_submit_and_wait_timeout(&ring_, &first, 1, const_cast<__kernel_timespec*>(wait_at_most),
                                              nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR) throw_errno("io_uring_submit_and_wait_timeout", -rc);
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      const std::uint64_t data = io_uring_cqe_get_data64(cqe);
      if (data == kAcceptTag) {
        on_accept(*cqe);
      } else if (data == kWakeTag) {
        begin_stop();
        deadline = give_up_at();
      } else if (data != kIgnoreTag) {
        auto* c = reinterpret_cast<Connection*>(data & ~kKindMask);
        switch (data & kKindMask) {
          case kReceive:
            on_receive(*c, *cqe);
            break;
          case kSend:
            on_send(*c, *cqe);
            break;
          case kCancel:
            --c->cancels;
            close_if_done(*c);
            break;
        }
      }
    }
    io_uring_cq_advance(&ring_, seen);
    // [/snippet multishot-loop]
    feed_starved();
    if (pause_.take_retry() && !stopping_ && !accepting_) arm_accept();
    if (stopping_ && std::chrono::steady_clock::now() > deadline) break;  // a peer that never reads
  }
  stats_.closed += connections_.size();
  connections_.clear();  // what is still in flight ends with the ring, in the destructor
}

void UringMultishotEcho::stop() {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wake_.get(), &one, sizeof one);
}

}  // namespace evq::completion
