// Lab read_deadline: your file. The handout is in notes/ch04-completion.md ("Lab: read_deadline").
//
// Read once with queue.read(), wait for the completion with queue.wait() until the deadline, and
// when the deadline passes, queue.cancel() and keep waiting for the read's own completion.
#include "evq/completion/lab/read_deadline.hpp"

#include <stdexcept>

namespace evq::completion::lab {

DeadlineRead read_with_deadline(CompletionQueue& queue, NativeSocket sock, std::span<std::byte> buffer,
                                std::chrono::milliseconds deadline) {
  (void)queue, (void)sock, (void)buffer, (void)deadline;
  // TODO(lab): lend `buffer` with queue.read(...), wait, cancel at the deadline, reap the completion.
  throw std::logic_error("TODO(lab): read_with_deadline is not written yet");
}

}  // namespace evq::completion::lab
