// YOUR FILE for lab ch04/read_deadline.
// Handout: notes/ch04-completion.md, "Lab 1: a read with a deadline".
// Interface and contract: chapters/ch04-completion/include/evq/completion/lab/read_deadline.hpp.
// Replace every TODO(lab) body and keep the signatures; the grader builds this file and no other.
// Grade it: tools/lab grade ch04 --lab read_deadline
//
// Useful: CompletionQueue::read / wait / cancel (evq/completion/queue.hpp): read once, wait until
// the deadline, and when it passes, cancel() and keep waiting for the read's own completion.
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
