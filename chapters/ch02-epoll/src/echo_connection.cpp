#include "echo_connection.hpp"

#include <span>

#include "evq/epoll/nonblocking.hpp"

namespace evq::epoll::detail {

Token ConnectionTable::insert(UniqueFd fd) {
  std::uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(std::make_unique<EchoConnection>());
    slots_.back()->buffer = std::make_unique<std::byte[]>(buffer_size_);
  }
  EchoConnection& c = *slots_[slot];
  c.fd = std::move(fd);
  c.begin = c.end = 0;
  c.interest = 0;
  ++live_;
  return (Token{c.generation} << 32) | slot;
}

EchoConnection* ConnectionTable::find(Token token) {
  auto slot = static_cast<std::uint32_t>(token);
  auto generation = static_cast<std::uint32_t>(token >> 32);
  if (slot >= slots_.size()) return nullptr;
  EchoConnection& c = *slots_[slot];
  if (!c.fd || c.generation != generation) return nullptr;
  return &c;
}

void ConnectionTable::erase(Token token) {
  EchoConnection* c = find(token);
  if (!c) return;
  c->fd.reset();
  ++c->generation;
  free_.push_back(static_cast<std::uint32_t>(token));
  --live_;
}

// [snippet pump]
Next pump(EchoConnection& c, std::size_t capacity, ReadPolicy policy, std::uint64_t& echoed) {
  bool have_read = false;
  for (;;) {
    // 1. Whatever we owe the peer goes first: never read more than we can give back.
    while (c.begin < c.end) {
      IoResult w = write_some(c.fd.get(), std::span(c.buffer.get() + c.begin, c.end - c.begin));
      if (w.would_block()) return Next::write;  // its send buffer is full: wait for EPOLLOUT
      if (!w.done()) return Next::fail;         // EPIPE, ECONNRESET: the peer is gone
      c.begin += w.bytes;
      echoed += w.bytes;
    }
    // 2. Level-triggered: one read per event is enough, epoll will tell us again if more is there.
    if (policy == ReadPolicy::once && have_read) return Next::read;
    // 3. Read. Edge-triggered: keep going until EAGAIN, or this data is never reported again.
    IoResult r = read_some(c.fd.get(), std::span(c.buffer.get(), capacity));
    if (r.would_block()) return Next::read;
    if (r.status == IoResult::Status::closed) return Next::close;  // end of stream: we are finished
    if (!r.done()) return Next::fail;                              // an error such as a reset
    c.begin = 0;
    c.end = r.bytes;
    have_read = true;
  }
}
// [/snippet pump]

}  // namespace evq::epoll::detail
