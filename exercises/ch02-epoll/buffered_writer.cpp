// YOUR FILE for lab ch02/buffered_writer.
// Handout: notes/ch02-epoll.md, "Lab 2: an edge-triggered writer".
// Interface and contract: chapters/ch02-epoll/include/evq/epoll/lab/buffered_writer.hpp.
// Replace every TODO(lab) body and keep the signatures; the grader builds this file and no other.
// Grade it: tools/lab grade ch02 --lab buffered_writer
//
// Useful: evq::epoll::write_some (evq/epoll/nonblocking.hpp), std::deque, std::system_error.
#include "evq/epoll/lab/buffered_writer.hpp"

#include <stdexcept>

#include "evq/epoll/nonblocking.hpp"

namespace evq::epoll::lab {

struct BufferedWriter::State {
  // TODO(lab): the fd, the queue of bytes not yet sent, how much is queued...
};

BufferedWriter::BufferedWriter(int /*fd*/) : state_(std::make_unique<State>()) {
  // TODO(lab): remember the fd.
  throw std::logic_error("TODO(lab): BufferedWriter::BufferedWriter is not written yet");
}

BufferedWriter::~BufferedWriter() = default;

std::size_t BufferedWriter::write(std::span<const std::byte> /*data*/) {
  // TODO(lab): send now if nothing is queued, queue the rest (in order).
  throw std::logic_error("TODO(lab): BufferedWriter::write is not written yet");
}

std::size_t BufferedWriter::on_writable() {
  // TODO(lab): send queued bytes until the queue is empty or the socket says EAGAIN.
  throw std::logic_error("TODO(lab): BufferedWriter::on_writable is not written yet");
}

std::size_t BufferedWriter::queued() const {
  // TODO(lab)
  throw std::logic_error("TODO(lab): BufferedWriter::queued is not written yet");
}

}  // namespace evq::epoll::lab
