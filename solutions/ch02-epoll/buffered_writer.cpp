// Lab "buffered_writer", reference solution. See chapters/ch02-epoll/include/evq/epoll/lab/buffered_writer.hpp.
#include "evq/epoll/lab/buffered_writer.hpp"

#include <deque>
#include <string>
#include <vector>

#include "evq/common/error.hpp"
#include "evq/epoll/nonblocking.hpp"

namespace evq::epoll::lab {

struct BufferedWriter::State {
  int fd;
  // Chunks waiting for the kernel, oldest first; the front one may be partly sent already.
  std::deque<std::vector<std::byte>> chunks;
  std::size_t front_sent = 0;
  std::size_t queued = 0;

  // [snippet writer-flush]
  // Sends queued chunks until the queue is empty or the socket is full. Returns bytes sent.
  std::size_t flush() {
    std::size_t sent = 0;
    while (!chunks.empty()) {
      std::span<const std::byte> rest = std::span(chunks.front()).subspan(front_sent);
      IoResult w = write_some(fd, rest);
      if (w.would_block()) break;  // the next EPOLLOUT edge will bring us back
      if (!w.done()) throw std::system_error(w.error, "send(queued output)");
      sent += w.bytes;
      queued -= w.bytes;
      front_sent += w.bytes;
      if (front_sent == chunks.front().size()) {
        chunks.pop_front();
        front_sent = 0;
      }
    }
    return sent;
  }
  // [/snippet writer-flush]
};

BufferedWriter::BufferedWriter(int fd) : state_(std::make_unique<State>()) {
  state_->fd = fd;
}

BufferedWriter::~BufferedWriter() = default;

// [snippet writer-write]
std::size_t BufferedWriter::write(std::span<const std::byte> data) {
  State& s = *state_;
  std::size_t sent = 0;
  // Only an empty queue lets new bytes go straight to the socket: otherwise they would overtake
  // the bytes still waiting, and the peer would read them out of order.
  if (s.chunks.empty()) {
    while (sent < data.size()) {
      IoResult w = write_some(s.fd, data.subspan(sent));
      if (w.would_block()) break;
      if (!w.done()) throw std::system_error(w.error, "send");
      sent += w.bytes;
    }
  }
  if (sent < data.size()) {
    s.chunks.emplace_back(data.begin() + static_cast<std::ptrdiff_t>(sent), data.end());
    s.queued += data.size() - sent;
  }
  return sent;
}
// [/snippet writer-write]

std::size_t BufferedWriter::on_writable() {
  return state_->flush();
}

std::size_t BufferedWriter::queued() const {
  return state_->queued;
}

}  // namespace evq::epoll::lab
