// Lab "batch get": a hidden test. It is in the Gradescope autograder, never in a student handout
// (tools/lab handout leaves tests/labs/*/hidden/ out), and checks only what the handout asks for:
// a batch exactly as large as the queue takes all of it, and a failed I/O is a packet like any other.
#include <system_error>
#include <vector>

#include "evq/port/lab/batch_get.hpp"
#include "evq/test/support.hpp"

using evq::port::Packet;
using evq::port::Port;
using evq::port::Wait;
using evq::port::lab::batch_get;
using evq::test::kDeadline;

TEST_CASE("a batch as large as the queue takes every packet, failed ones included, and leaves none [1 pt]") {
  Port port(1);
  for (std::uint64_t k = 1; k <= 8; ++k) {
    Packet p{k, 0, k * 10, {}};
    if (k % 3 == 0) p.error = std::make_error_code(std::errc::connection_reset);
    port.post(p);
  }
  std::vector<Packet> out(8);
  Port::ManyResult r = batch_get(port, out, kDeadline);
  REQUIRE(r.status == Wait::packet);
  REQUIRE(r.count == 8);
  for (std::uint64_t i = 0; i < 8; ++i) {
    CHECK(out[i].key == i + 1);
    CHECK(out[i].user == (i + 1) * 10);
    CHECK(out[i].failed() == ((i + 1) % 3 == 0));
  }
  CHECK(port.counters().queued == 0);
}
