// Lab "batch get": see chapters/ch05-event-queue/include/evq/port/lab/batch_get.hpp and the
// handout in notes/ch05-event-queue.md. Replace the TODO(lab) body; keep the signature.
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
