// What travels through a port: a completion packet, and what a get() returns.
//
// A packet is plain data, the same shape as the four things GetQueuedCompletionStatus hands back:
// the completion key (which association it came from), the bytes transferred, the per-operation
// pointer (the OVERLAPPED) and the operation's status. post() packets and I/O completions are the
// same type, so a worker cannot tell them apart except by the key it chose.
//
// Packets own nothing. That is what lets close() drop queued packets without a leak: whatever a
// packet's `user` field points at belongs to the code that posted it (for socket I/O, the caller's
// connection and its buffer; evq::port::PortIo cancels and collects its operations before it goes).
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

namespace evq::port {

struct Packet {
  std::uint64_t key = 0;    // completion key: chosen when a socket is associated, or by post()
  std::uint32_t bytes = 0;  // bytes transferred (lpNumberOfBytesTransferred)
  std::uint64_t user = 0;   // per-operation data: the OVERLAPPED analogue (an id or a pointer)
  std::error_code error;    // set when the I/O operation failed: a failed I/O *is* a packet

  bool failed() const { return static_cast<bool>(error); }
};

// Why get() returned. A timed-out get() has no packet; a failed I/O has one (status `packet`,
// packet.error set): the two are different cases, unlike a bare FALSE from GetQueuedCompletionStatus.
enum class Wait { packet, timeout, closed };

struct GetResult {
  Wait status = Wait::timeout;
  Packet packet;  // meaningful only when status == Wait::packet

  bool got() const { return status == Wait::packet; }
};

std::string to_string(Wait status);

}  // namespace evq::port
