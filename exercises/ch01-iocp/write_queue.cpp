// YOUR FILE for lab ch01/write_queue.
// Handout: notes/ch01-iocp.md, "Lab 3: a per-connection write queue".
// Interface and contract: chapters/ch01-iocp/include/evq/iocp/lab/write_queue.hpp.
// Replace every TODO(lab) body and keep the signatures; the grader builds this file and no other.
// Grade it: tools/lab grade ch01 --lab write_queue
//
// Useful: evq::iocp::start_send (overlapped_io.hpp), std::deque.
#include "evq/iocp/lab/write_queue.hpp"

#include <stdexcept>

#include "evq/iocp/overlapped_io.hpp"

namespace evq::iocp::lab {

WriteQueue::WriteQueue(SOCKET socket) : socket_(socket) {
  // TODO(lab): refuse INVALID_SOCKET with std::invalid_argument.
  throw std::logic_error("TODO(lab): WriteQueue::WriteQueue");
}

void WriteQueue::write(std::string_view data) {
  // TODO(lab): queue a copy of `data`; start a WSASend only if none is in flight.
  (void)data;
  throw std::logic_error("TODO(lab): WriteQueue::write");
}

void WriteQueue::start_next() {
  // TODO(lab): zero the OVERLAPPED, WSASend the unsent rest of the front chunk, remember it is in flight.
  throw std::logic_error("TODO(lab): WriteQueue::start_next");
}

void WriteQueue::on_completion(const GetResult& packet) {
  // TODO(lab): check the packet is ours; on failure throw its error; account the bytes sent; drop a
  // finished chunk; start the next WSASend if anything is left.
  (void)packet;
  throw std::logic_error("TODO(lab): WriteQueue::on_completion");
}

const OVERLAPPED* WriteQueue::overlapped() const {
  // TODO(lab)
  throw std::logic_error("TODO(lab): WriteQueue::overlapped");
}

std::size_t WriteQueue::queued() const {
  // TODO(lab)
  throw std::logic_error("TODO(lab): WriteQueue::queued");
}

bool WriteQueue::sending() const {
  // TODO(lab)
  throw std::logic_error("TODO(lab): WriteQueue::sending");
}

}  // namespace evq::iocp::lab
