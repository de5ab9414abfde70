// Lab "buffered_writer": a correct writer for an edge-triggered, non-blocking socket.
//
// send() on a non-blocking socket takes what fits in the kernel's buffer and says EAGAIN for the
// rest. A server must keep that rest, in order, and send it when epoll reports EPOLLOUT. With
// EPOLLET that report comes once per "space became free", so each one must be used fully.
//
//   BufferedWriter out(fd);                               // fd: non-blocking, connected
//   poll.registry().add(fd, token, EPOLLIN | EPOLLOUT | EPOLLET);
//   out.write(reply);                                     // sends now, queues what did not fit
//   ... in the loop: if (event.writable()) out.on_writable();
//
// You write: exercises/ch02-epoll/buffered_writer.cpp. Handout: notes/ch02-epoll.md, "Lab 2".
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

namespace evq::epoll::lab {

class BufferedWriter {
 public:
  // `fd` is a connected, non-blocking stream socket. The writer does not own or close it.
  explicit BufferedWriter(int fd);
  ~BufferedWriter();
  BufferedWriter(const BufferedWriter&) = delete;
  BufferedWriter& operator=(const BufferedWriter&) = delete;

  // Sends as much of `data` as the socket takes now and queues a copy of the rest. Order is kept:
  // while anything is queued, new data goes behind it and is not sent ahead of it.
  // Returns how many bytes of `data` were sent now. Throws std::system_error when the connection
  // has failed (EPIPE, ECONNRESET, ...). Never raises SIGPIPE.
  std::size_t write(std::span<const std::byte> data);
  std::size_t write(std::string_view text) { return write(std::as_bytes(std::span(text))); }

  // Call when epoll reports EPOLLOUT: sends queued bytes until the queue is empty or the socket
  // would block (EAGAIN). Returns how many bytes it sent. Throws like write().
  std::size_t on_writable();

  // Bytes accepted by write() and not yet handed to the kernel.
  std::size_t queued() const;

 private:
  struct State;  // yours to define in buffered_writer.cpp
  std::unique_ptr<State> state_;
};

}  // namespace evq::epoll::lab
