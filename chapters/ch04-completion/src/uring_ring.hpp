// The io_uring ring both io_uring users of this chapter set up the same way (internal): the
// lent-buffer backend (uring_queue.cpp) and the provided-buffer server (uring_multishot_echo.cpp).
#pragma once

#include <liburing.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "evq/common/error.hpp"

namespace evq::completion::detail {

// [snippet uring-setup]
// One thread submits and reaps (the interface's rule), so tell the kernel: with SINGLE_ISSUER and
// DEFER_TASKRUN (Linux 6.1) completion work runs only when we wait, instead of interrupting us.
// R_DISABLED lets the thread that first waits, not the one that constructs, become the submitter.
// Older kernels refuse the flags (EINVAL): then COOP_TASKRUN (5.19), then none.
inline void init_one_submitter_ring(io_uring& ring, unsigned entries) {
  int rc = -EINVAL;
  for (unsigned flags : {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
                         unsigned{IORING_SETUP_COOP_TASKRUN}, 0u}) {
    rc = io_uring_queue_init(entries, &ring, flags);
    if (rc != -EINVAL) break;
  }
  if (rc < 0) throw_errno("io_uring_queue_init", -rc);
}
// [/snippet uring-setup]

// Makes the calling thread the ring's one submitter, once (a no-op for a ring not set up disabled).
inline void enable_ring(io_uring& ring, bool& enabled) {
  if (!(ring.flags & IORING_SETUP_R_DISABLED) || enabled) return;
  // io_uring_register(IORING_REGISTER_ENABLE_RINGS); Debian's liburing 2.3 declares
  // io_uring_enable_rings() but does not export it, so make the call ourselves.
  if (::syscall(__NR_io_uring_register, ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) < 0)
    throw_errno("io_uring_register(IORING_REGISTER_ENABLE_RINGS)");
  enabled = true;
}

// A free submission entry; when the ring is full, what it holds is handed to the kernel first.
inline io_uring_sqe* next_sqe(io_uring& ring, bool& enabled) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  if (!sqe) {
    enable_ring(ring, enabled);
    io_uring_submit(&ring);
    sqe = io_uring_get_sqe(&ring);
    if (!sqe) throw std::runtime_error("io_uring: no free submission entry after io_uring_submit");
  }
  return sqe;
}

}  // namespace evq::completion::detail
