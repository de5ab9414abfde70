// What the queue hands back: one Completion per operation, carrying the caller's user data, the kind
// of operation, and its result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "evq/completion/socket.hpp"

namespace evq::completion {

// The caller's own 64 bits, handed back untouched: an index, a pointer, a connection id.
using UserData = std::uint64_t;

enum class Op : std::uint8_t { accept, connect, read, write, post };

std::string_view to_string(Op op);

// [snippet completion]
struct Completion {
  UserData user_data = 0;
  Op op = Op::post;
  // read: bytes now in the lent buffer (0 means end of stream); write: bytes sent (all of them, unless
  // `error` is set); post: the number the poster passed.
  std::size_t bytes = 0;
  // Set when the operation failed; std::errc::operation_canceled after cancel() (see queue.hpp).
  std::error_code error;
  // accept only: the new connection, now owned by whoever holds this Completion. It is not attached
  // to any queue yet.
  OwnedSocket accepted;

  bool ok() const { return !error; }
  bool end_of_stream() const { return op == Op::read && !error && bytes == 0; }
};
// [/snippet completion]

// The error a cancelled operation completes with, on every backend.
inline std::error_code operation_aborted() {
  return std::make_error_code(std::errc::operation_canceled);
}
inline bool is_aborted(const std::error_code& e) {
  return e == std::errc::operation_canceled;
}
// An accept that failed because the machine is full (EMFILE, ENFILE, ENOBUFS, ENOMEM, or their
// WinSock twins): the connection still waits, so issuing the next accept at once would spin. The
// echo server pauses instead (evq/common/accept_pause.hpp).
inline bool is_machine_full(const std::error_code& e) {
  return e == std::errc::too_many_files_open || e == std::errc::too_many_files_open_in_system ||
         e == std::errc::no_buffer_space || e == std::errc::not_enough_memory;
}

}  // namespace evq::completion
