// YOUR FILE for lab ch05/batch_get.
// Handout: notes/ch05-event-queue.md, "Lab 2: GetQueuedCompletionStatusEx from get()".
// Interface and contract: chapters/ch05-event-queue/include/evq/port/lab/batch_get.hpp.
// Replace every TODO(lab) body and keep the signatures; the grader builds this file and no other.
// Grade it: tools/lab grade ch05 --lab batch_get
//
// Useful: Port::get (evq/port/port.hpp): get(timeout) for the first packet, get(0ms) only looks.
#include "evq/port/lab/batch_get.hpp"

#include <stdexcept>

namespace evq::port::lab {

Port::ManyResult batch_get(Port& port, std::span<Packet> out, Timeout timeout) {
  (void)port;
  (void)out;
  (void)timeout;
  // TODO(lab): wait for the first packet with port.get(timeout); then take what is already queued.
  throw std::logic_error("TODO(lab): batch_get is not written yet");
}

}  // namespace evq::port::lab
