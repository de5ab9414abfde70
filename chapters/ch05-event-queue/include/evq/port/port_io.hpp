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
//
// Driver::callers takes the pump's thread away: the pool's own threads take turns at the ch04 queue
// (poll()), one at a time, and post what completed into the port themselves. A completion is then
// usually handled by the thread that saw it, with no hand-off between two threads: the way
// Boost.Asio's scheduler runs its reactor on whichever thread is free (thread_pool.hpp says how a
// pool does it).
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

// Who waits on the ch04 queue.
enum class Driver {
  pump,     // a thread of PortIo's own, the picture above
  callers,  // no thread of its own: the port's threads call poll(), one at a time
};

class PortIo {
 public:
  // Opens a ch04 completion queue (`backend` as ch04's open_queue takes it; empty: the platform's
  // default). Driver::pump starts the pump thread, which posts completions into `port`. With
  // Driver::callers nothing waits on the queue until someone calls poll(); io_uring refuses it
  // (std::invalid_argument), because chapter 4 sets its ring up for one submitting thread.
  explicit PortIo(Port& port, const std::string& backend = "", Driver driver = Driver::pump);
  // Cancels every operation still pending, waits (boundedly) for their completions and stops the
  // pump. Completions arriving after the port was closed are dropped, like any packet. With
  // Driver::callers, no thread may be in poll() any more (stop the pool first).
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
  // What a try_read saw, for the read issued after it (read_found_empty).
  struct TriedRead {
    bool found_empty = false;        // EAGAIN: the socket had nothing to read
    std::uint64_t waits_before = 0;  // waits on the ch04 queue that had returned before the try
  };
  // try_read, remembering in `tried` what read_found_empty needs.
  std::optional<std::uint32_t> try_read(NativeSocket sock, std::span<std::byte> buffer,
                                        TriedRead& tried) const;
  // read(), for a socket that try_read has just found empty (`tried`). On a readiness backend
  // (epoll, kqueue) it wakes nobody, if no wait on the queue has returned since the try: the data
  // it waits for raises an edge that wakes the waiter, and the read, issued on that next turn,
  // finds it there. If a wait did return since, it may have taken that edge already (the data came
  // right after the try), so the read wakes the waiter as read() does. Elsewhere it is read().
  void read_found_empty(NativeSocket sock, std::span<std::byte> buffer, std::uint64_t user,
                        const TriedRead& tried);
  static std::size_t try_write(NativeSocket sock, std::span<const std::byte> buffer);

  // Pending operations of `sock` complete with operation_canceled (CancelIoEx).
  void cancel(NativeSocket sock);
  // Dissociates `sock` and closes it, in the pump, after what is pending on it: the end of a
  // connection. Its pending operations still complete (canceled).
  void close(OwnedSocket sock);

  std::string backend() const;
  Driver driver() const;
  // Whether Driver::callers can run on `backend` (empty: the platform's default).
  static bool callers_can_drive(const std::string& backend);

  // Driver::callers: take a turn at the ch04 queue, unless another thread is taking one (then
  // return false at once). A turn issues the operations submitted so far and waits until something
  // completes (inside a BlockingScope: the port may release another thread meanwhile). The first
  // completion comes back in `mine`, for the caller to handle as if get() had returned it: it
  // crosses no thread. The others are posted into the port. Returns true after a turn, possibly
  // with nothing completed: wake() ends the wait early.
  bool poll(std::optional<Packet>& mine);
  // Ends a turn that is waiting, at once; nothing if none is. Call it after posting from outside
  // the pool when the packet stays queued with no thread running (Port::counters()): the poller is
  // then the only one that can take it. A turn looks at the port before it waits, so a post that
  // comes before the turn's wait is not missed either.
  void wake();
  // Every turn from now on returns at once, and the one waiting now ends (the pool's stop()).
  void stop_polling();

 private:
  class Pump;
  std::unique_ptr<Pump> pump_;
};

}  // namespace evq::port
