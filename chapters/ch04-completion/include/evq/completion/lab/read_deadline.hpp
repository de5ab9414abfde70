// Lab "read_deadline": a read that gives up after a deadline, without breaking the lending contract.
//
// The trap: when the deadline passes, the read is still lent out. Returning at once would hand the
// caller a buffer the queue (or the kernel) may still write. You must cancel(), then keep waiting
// until the read's own completion comes back, and report what it says: operation_aborted if the
// cancel won, or the real bytes if the read finished first (the race a cancel can lose).
//
// Student file: exercises/ch04-completion/read_deadline.cpp. Tests: tests/labs/ch04-completion/.
#pragma once

#include <chrono>
#include <span>
#include <system_error>

#include "evq/completion/queue.hpp"

namespace evq::completion::lab {

struct DeadlineRead {
  std::size_t bytes = 0;  // bytes now in the buffer (0 with no error: end of stream)
  std::error_code error;  // operation_aborted() when the deadline won
  bool timed_out() const { return is_aborted(error); }
};

// Reads once from `sock` into `buffer`, giving up after `deadline`. `sock` is attached to `queue`,
// and nothing else is pending on the queue. When it returns, the buffer is no longer lent
// (queue.pending() == 0) and the result is the read's own completion.
DeadlineRead read_with_deadline(CompletionQueue& queue, NativeSocket sock, std::span<std::byte> buffer,
                                std::chrono::milliseconds deadline);

}  // namespace evq::completion::lab
