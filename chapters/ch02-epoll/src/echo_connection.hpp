// Internal to the chapter library: one echo connection, the table that hands out their tokens,
// and pump(), the read-then-write step both echo servers share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "evq/common/unique_fd.hpp"
#include "evq/epoll/poll.hpp"

namespace evq::epoll::detail {

struct EchoConnection {
  UniqueFd fd;
  // Bytes read but not yet written back: buffer[begin, end). The buffer belongs to the slot and
  // is reused by the next connection in it, so serving a message never allocates.
  std::unique_ptr<std::byte[]> buffer;
  std::size_t begin = 0;
  std::size_t end = 0;
  std::uint32_t interest = 0;    // what epoll watches for now (the level-triggered server swaps it)
  std::uint32_t generation = 0;  // part of the token, so a stale event never reaches a new tenant
};

// Tokens are (generation << 32 | slot). Two values at the top are kept for the loop's own fds.
inline constexpr Token kListenerToken = ~Token{0};
inline constexpr Token kWakeToken = ~Token{0} - 1;

class ConnectionTable {
 public:
  explicit ConnectionTable(std::size_t buffer_size) : buffer_size_(buffer_size) {}

  // Takes the socket; returns the token to register it with.
  Token insert(UniqueFd fd);
  // The connection a token names, or nullptr if it has been closed since (a stale event).
  EchoConnection* find(Token token);
  // Closes the socket. Closing also removes it from every epoll set, because this fd is the only
  // one open on its file description (see tests/ch02-epoll/test_open_file_description.cpp).
  void erase(Token token);
  std::size_t size() const { return live_; }
  std::size_t buffer_size() const { return buffer_size_; }

 private:
  std::size_t buffer_size_;
  std::vector<std::unique_ptr<EchoConnection>> slots_;
  std::vector<std::uint32_t> free_;
  std::size_t live_ = 0;
};

// What the connection waits for after a pump: more input, room to write, or nothing (it is over:
// `close` after the peer's end of stream, `fail` after an error such as a reset).
enum class Next { read, write, close, fail };
// level: one read per readiness event, then back to epoll (it will report again if more is there).
// drain: read and echo until the kernel says EAGAIN, as edge-triggered mode requires.
enum class ReadPolicy { once, drain };

// Echoes what the socket has: first flushes pending output, then reads and writes back.
// Adds the bytes written back to `echoed`.
Next pump(EchoConnection& c, std::size_t capacity, ReadPolicy policy, std::uint64_t& echoed);

}  // namespace evq::epoll::detail
