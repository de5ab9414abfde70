// PacketQueue (src/packet_queue.hpp), the port's FIFO: a vector with a read position, filled by
// appending the producer's inbox. These cases pin down its two ways of appending (a swap when the
// queue is empty, a copy behind the unread packets otherwise), because FIFO order across both is
// what the port's "packets come out in the order they were queued" rests on.
#include <vector>

#include "evq/test/support.hpp"
#include "packet_queue.hpp"

using evq::port::Packet;
using evq::port::detail::PacketQueue;

namespace {

std::vector<Packet> packets(std::uint64_t first, std::uint64_t count) {
  std::vector<Packet> v;
  for (std::uint64_t k = first; k < first + count; ++k) {
    Packet p;
    p.key = k;
    v.push_back(p);
  }
  return v;
}

// Takes everything, one packet at a time, and returns the keys in the order they came out.
std::vector<std::uint64_t> take_all(PacketQueue& q) {
  std::vector<std::uint64_t> keys;
  Packet p;
  while (q.take(std::span<Packet>(&p, 1)) == 1) keys.push_back(p.key);
  return keys;
}

}  // namespace

TEST_CASE("PacketQueue: appending to an empty queue takes the inbox's buffer and leaves it empty") {
  PacketQueue q;
  std::vector<Packet> inbox = packets(0, 3);
  q.append(inbox);
  CHECK(inbox.empty());
  CHECK(q.size() == 3);
  CHECK(take_all(q) == std::vector<std::uint64_t>{0, 1, 2});
  CHECK(q.empty());
}

TEST_CASE("PacketQueue: packets appended behind unread ones come out after them, oldest first") {
  PacketQueue q;
  std::vector<Packet> inbox = packets(0, 4);
  q.append(inbox);
  Packet two[2];
  REQUIRE(q.take(two) == 2);  // 0 and 1 are gone, 2 and 3 are unread
  CHECK(two[0].key == 0);
  CHECK(two[1].key == 1);
  inbox = packets(4, 3);
  q.append(inbox);  // the copying path, which also reclaims the taken prefix
  CHECK(inbox.empty());
  CHECK(q.size() == 5);
  CHECK(take_all(q) == std::vector<std::uint64_t>{2, 3, 4, 5, 6});
}

TEST_CASE("PacketQueue: take() fills at most the room it is given, and drop_all() counts the rest") {
  PacketQueue q;
  std::vector<Packet> inbox = packets(10, 5);
  q.append(inbox);
  Packet room[3];
  CHECK(q.take(room) == 3);
  CHECK(room[2].key == 12);
  CHECK(q.drop_all() == 2);
  CHECK(q.empty());
  CHECK(q.take(room) == 0);
}
