// Deliberately WRONG solution of lab ch05/batch_get, for `tools/lab prove-labs` only (never in a
// handout): the reference solution with one mistake, which the lab's tests must catch.
// Mistake: the follow-up get()s use the caller's timeout, so batch_get waits for the batch to fill
// Caught by: batch-get-returns-as-soon-as-the, batch-get-takes-the-packets-already-queued

#include "evq/port/lab/batch_get.hpp"

#include <chrono>
#include <stdexcept>

namespace evq::port::lab {

Port::ManyResult batch_get(Port& port, std::span<Packet> out, Timeout timeout) {
  if (out.empty()) throw std::invalid_argument("batch_get: no room for a packet");
  GetResult first = port.get(timeout);
  if (!first.got()) return {first.status, 0};
  out[0] = first.packet;
  std::size_t n = 1;
  while (n < out.size()) {
    // This thread came back to get(): it takes a queued packet without blocking, even at the cap
    // (it stopped counting as running when it called get()). A zero timeout only looks.
    GetResult more = port.get(timeout);
    if (!more.got()) break;
    out[n++] = more.packet;
  }
  return {Wait::packet, n};
}

}  // namespace evq::port::lab
