// YOUR FILE for lab ch03/sized_writer.
// Handout: notes/ch03-kqueue.md, "Lab 2: a sized write path".
// Interface and contract: chapters/ch03-kqueue/include/evq/kq/lab/sized_writer.hpp.
// Replace every TODO(lab) body and keep the signatures; the grader builds this file and no other.
// Grade it: tools/lab grade ch03 --lab sized_writer
//
// Useful: evq::kq::change, Kqueue::apply, EV_ADD / EV_DELETE on EVFILT_WRITE, send(2) with
// MSG_NOSIGNAL, std::string as a byte queue.
#include "evq/kq/lab/sized_writer.hpp"

#include <stdexcept>

namespace evq::kq::lab {

struct SizedWriter::State {
  // TODO(lab): the kqueue, the fd, udata, the queue, whether EVFILT_WRITE is registered, the error...
};

SizedWriter::SizedWriter(Kqueue& /*kq*/, int /*fd*/, void* /*udata*/) : state_(std::make_unique<State>()) {
  // TODO(lab): remember what you need.
}

SizedWriter::~SizedWriter() = default;

void SizedWriter::send(std::string_view /*bytes*/) {
  // TODO(lab): queue the bytes; register EVFILT_WRITE if it is not registered.
  throw std::logic_error("TODO(lab): SizedWriter::send is not written yet");
}

std::size_t SizedWriter::on_writable(const struct kevent& /*ev*/) {
  // TODO(lab): EV_EOF? otherwise send at most ev.data bytes; delete the filter when the queue is empty.
  throw std::logic_error("TODO(lab): SizedWriter::on_writable is not written yet");
}

std::size_t SizedWriter::queued() const {
  // TODO(lab)
  throw std::logic_error("TODO(lab): SizedWriter::queued is not written yet");
}

bool SizedWriter::registered() const {
  // TODO(lab)
  throw std::logic_error("TODO(lab): SizedWriter::registered is not written yet");
}

int SizedWriter::error() const {
  // TODO(lab)
  throw std::logic_error("TODO(lab): SizedWriter::error is not written yet");
}

}  // namespace evq::kq::lab
