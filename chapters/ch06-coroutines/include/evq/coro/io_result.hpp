// What an awaited socket operation gives back, the same for the one-thread Loop (loop.hpp) and the
// thread pool (pool.hpp): the bytes moved and the error if it failed, and for an accept the socket.
// After a cancel or a timeout the error is operation_canceled: completion::is_aborted(error).
#pragma once

#include <cstddef>
#include <system_error>

#include "evq/completion/socket.hpp"

namespace evq::coro {

struct IoResult {
  std::size_t bytes = 0;
  std::error_code error;
  bool end_of_stream() const { return !error && bytes == 0; }
};

struct AcceptResult {
  completion::OwnedSocket socket;
  std::error_code error;
};

}  // namespace evq::coro
