// One completion (proactor) interface over epoll, kqueue, io_uring and IOCP.
//
// Readiness queues (epoll, kqueue) say "you may now read without blocking"; completion queues (IOCP,
// io_uring) say "your read is done, the bytes are in your buffer". This interface is the second kind,
// so on epoll and kqueue the backend does the reading itself and reports a completion.
//
//   queue.attach(sock);                        // once per socket, before its first operation
//   queue.read(sock, buffer, /*user_data=*/7);  // lend `buffer` to the queue
//   Completion done[16];
//   std::size_t n = queue.wait(done, 100ms);    // done[i].user_data == 7, done[i].bytes in buffer
//
// THE BUFFER-LENDING CONTRACT (every backend, tested by the conformance suite):
//  1. A buffer passed to read() or write() is lent to the queue from the call until its completion is
//     returned by wait(). The caller must not touch it, free it, or lend it again in that time: the
//     kernel (IOCP, io_uring) or the backend (epoll, kqueue) may write or read it at any moment.
//  2. Once the completion has been returned, the queue never touches that buffer again.
//  3. Every operation gets exactly one completion, also when it is cancelled, also when its socket
//     is detached. So "wait until the completion is back" is always a finite wait.
// IOCP is why the contract exists: WSARecv hands the buffer to the kernel, which fills it later on a
// thread you never see. Making epoll look the same means the same rule for all four.
//
// CANCEL: cancel(sock) makes every operation of `sock` that has not completed yet complete with
// operation_aborted() (std::errc::operation_canceled), exactly once. An operation that already
// finished when cancel() ran — it won the race — reports its real result instead. Either way the
// completion comes from wait(), and rule 2 holds from then on.
//
// ORDER: on one socket, reads complete in the order they were issued, and so do writes; a write
// completes only when all its bytes are sent (or with an error, `bytes` saying how many went out).
//
// THREADS: a queue belongs to the thread that calls wait(); every call except post() must come from
// that thread. post() may be called from any thread and wakes a blocked wait().
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "evq/completion/completion.hpp"
#include "evq/completion/socket.hpp"

namespace evq::completion {

class CompletionQueue {
 public:
  virtual ~CompletionQueue() = default;
  CompletionQueue() = default;
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;

  // "epoll", "kqueue", "io_uring", "iocp".
  virtual std::string_view backend() const = 0;

  // Prepares `sock` for operations (a readiness backend makes it non-blocking and registers it; IOCP
  // associates it with the port). Detach before closing it: detach() cancels what is pending (the
  // completions still arrive) and forgets the socket. Attaching twice is an error.
  virtual void attach(NativeSocket sock) = 0;
  virtual void detach(NativeSocket sock) = 0;

  // [snippet interface]
  // The operations. Each completes exactly once, with `user_data`, through wait().
  virtual void accept(NativeSocket listener, UserData user_data) = 0;
  virtual void connect(NativeSocket sock, const Endpoint& to, UserData user_data) = 0;
  virtual void read(NativeSocket sock, std::span<std::byte> buffer, UserData user_data) = 0;
  virtual void write(NativeSocket sock, std::span<const std::byte> buffer, UserData user_data) = 0;
  // A completion made by the program itself (PostQueuedCompletionStatus): any thread may call it.
  virtual void post(UserData user_data, std::size_t bytes = 0) = 0;

  // Every pending operation of `sock` completes with operation_aborted(), or with its real result if
  // it already finished.
  virtual void cancel(NativeSocket sock) = 0;

  // Fills `out` with up to out.size() completions. Blocks until at least one is there or `timeout`
  // passes (nullopt: no limit; 0ms: only look). Returns how many it wrote; 0 on timeout.
  virtual std::size_t wait(std::span<Completion> out, std::optional<std::chrono::milliseconds> timeout) = 0;
  // [/snippet interface]

  // Operations issued whose completion wait() has not returned yet (posts not counted).
  virtual std::size_t pending() const = 0;
};

}  // namespace evq::completion
