// PortIo: sockets associated with a port, so that their I/O completes into it as packets.
//
// On Windows, CreateIoCompletionPort(socket, port, key) is all it takes: the kernel queues a packet
// when a WSARecv on that socket completes. Here the "kernel" is a ch04 completion queue (epoll,
// io_uring, ...) and one I/O thread, the pump, that turns each of its completions into a packet:
//
//   pool threads ── read()/write()/accept() ──▶ request list ──▶ pump thread ──▶ ch04 queue
//                                                                    │  wait()
//   pool threads ◀── port.get() ◀── port.post(Packet{key, bytes, user, error}) ◀┘
//
// Every operation completes exactly once, as one packet: key = the socket's completion key,
// user = the caller's per-operation value (the OVERLAPPED analogue), bytes, and error if it failed
// (a failed I/O is a packet with an error, never a lost operation). The buffers follow ch04's
// lending contract: untouched by the caller until the packet arrives.
//
// A ch04 queue belongs to the thread that waits on it, so every operation is handed to the pump,
// which issues it and is woken through the queue's thread-safe post().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "evq/completion/socket.hpp"
#include "evq/port/port.hpp"

namespace evq::port {

using completion::NativeSocket;
using completion::OwnedSocket;

class PortIo {
 public:
  // Opens a ch04 completion queue (`backend` as ch04's open_queue takes it; empty: the platform's
  // default) and starts the pump thread, which posts completions into `port`.
  explicit PortIo(Port& port, const std::string& backend = "");
  // Cancels every operation still pending, waits (boundedly) for their completions and stops the
  // pump. Completions arriving after the port was closed are dropped, like any packet.
  ~PortIo();
  PortIo(const PortIo&) = delete;
  PortIo& operator=(const PortIo&) = delete;

  // CreateIoCompletionPort(socket, port, key): every operation on `sock` completes with `key`.
  // The caller keeps owning `sock` until it hands it to close().
  void associate(NativeSocket sock, std::uint64_t key);

  // The operations (WSARecv, WSASend, AcceptEx). `user` comes back in the packet.
  void read(NativeSocket sock, std::span<std::byte> buffer, std::uint64_t user);
  void write(NativeSocket sock, std::span<const std::byte> buffer, std::uint64_t user);
  // The accepted socket is kept for the packet's receiver: take it with take_accepted(user).
  void accept(NativeSocket listener, std::uint64_t user);
  OwnedSocket take_accepted(std::uint64_t user);
  // ConnectEx: `sock` (associated) connects to `to`; the packet says whether it did.
  void connect(NativeSocket sock, const completion::Endpoint& to, std::uint64_t user);

  // FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, one operation at a time: try the transfer now, on the
  // calling thread, without waiting and without the pump. What completes here completes here: no
  // packet is queued for it. A read that finds data (or the end of the stream: 0) returns its
  // bytes; nullopt means nothing was consumed, so issue read() as usual (a failure is left to that
  // read too, so that errors keep the backend's own form). try_write returns how much of `buffer`
  // went out (0 to all of it); write() the rest. Use them only while no other operation in the same
  // direction is pending on `sock`, or the bytes would pass it. On Windows these never complete
  // inline (the emulation has no non-blocking path there): try_read is nullopt, try_write 0.
  static std::optional<std::uint32_t> try_read(NativeSocket sock, std::span<std::byte> buffer);
  static std::size_t try_write(NativeSocket sock, std::span<const std::byte> buffer);

  // Pending operations of `sock` complete with operation_canceled (CancelIoEx).
  void cancel(NativeSocket sock);
  // Dissociates `sock` and closes it, in the pump, after what is pending on it: the end of a
  // connection. Its pending operations still complete (canceled).
  void close(OwnedSocket sock);

  std::string backend() const;

 private:
  class Pump;
  std::unique_ptr<Pump> pump_;
};

}  // namespace evq::port
