// Lab ch01/write_queue: a per-connection write queue for an overlapped socket.
// (Handout: notes/ch01-iocp.md, "Lab 3: a per-connection write queue".)
//
// A server that answers many requests on one connection may have its next reply ready while the last is
// still being sent. Two WSASends in flight on one socket may complete in any order relative to each
// other's partial progress, and each needs its own OVERLAPPED and buffer; the simple, safe rule is one
// WSASend at a time per connection, and a queue for the rest.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

#include "evq/common/win32.hpp"
#include "evq/iocp/completion_port.hpp"

namespace evq::iocp::lab {

class WriteQueue {
 public:
  // `socket` must already be associated with the port whose packets are passed to on_completion().
  // The queue does not own the socket.
  explicit WriteQueue(SOCKET socket);

  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;

  // Queues a copy of `data` behind everything written before; starts a WSASend if none is in flight.
  // Empty data does nothing. A WSASend that fails to start throws std::system_error.
  void write(std::string_view data);

  // Call with every packet whose OVERLAPPED is overlapped(). Accounts the bytes sent, and starts the
  // next WSASend if bytes remain (the rest of a partial send first, then the next queued data).
  // A failed packet throws std::system_error carrying its error; a packet of another operation throws
  // std::invalid_argument.
  void on_completion(const GetResult& packet);

  // The OVERLAPPED of this queue's WSASend: how the caller recognises its packets.
  const OVERLAPPED* overlapped() const;

  // Bytes written but not yet reported sent by a completion.
  std::size_t queued() const;

  // Whether a WSASend is in flight (its packet not yet passed to on_completion()).
  bool sending() const;

 private:
  void start_next();

  SOCKET socket_;
  OVERLAPPED overlapped_{};
  std::deque<std::string> chunks_;  // front() is the one being sent
  std::size_t front_sent_ = 0;      // bytes of front() already sent
  std::size_t queued_ = 0;
  bool sending_ = false;
};

}  // namespace evq::iocp::lab
