// The completion interface built on a readiness queue: what the epoll and kqueue backends share.
//
// How a readiness API is made to look completion-based:
//   - an operation first tries its syscall at once (recv, send, accept4, connect); most of the time
//     on a busy server the data is already there and the operation completes on the spot;
//   - ...unless the last read came back short: then the socket is known drained, and the read is
//     parked without a syscall (in request/response traffic this saves one recv per message);
//   - only on EAGAIN is it parked, in one of two queues per socket: the input queue (read, accept)
//     waits for "readable", the output queue (write, connect) for "writable";
//   - the socket is registered once, edge-triggered, for both directions; on each edge the backend
//     retries the head of the matching queue until it would block again, so no edge is ever lost;
//   - a write that sends only part of its bytes stays at the head until the rest is out.
// The OS-specific part is four small hooks: watch, unwatch, poll and wake.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "evq/completion/completion_fifo.hpp"
#include "evq/completion/post_box.hpp"
#include "evq/completion/queue.hpp"
#include "evq/completion/socket_table.hpp"

namespace evq::completion {

class ReadinessQueue : public CompletionQueue {
 public:
  void attach(NativeSocket sock) override;
  void detach(NativeSocket sock) override;
  void accept(NativeSocket listener, UserData user_data) override;
  void connect(NativeSocket sock, const Endpoint& to, UserData user_data) override;
  void read(NativeSocket sock, std::span<std::byte> buffer, UserData user_data) override;
  void write(NativeSocket sock, std::span<const std::byte> buffer, UserData user_data) override;
  void post(UserData user_data, std::size_t bytes = 0) override;
  void cancel(NativeSocket sock) override;
  std::size_t wait(std::span<Completion> out, std::optional<std::chrono::milliseconds> timeout) override;
  std::size_t pending() const override { return pending_; }

 protected:
  // One readiness report from the OS: `fd` may be read (or accepted on) / written (or is connected).
  // An error or hang-up sets both: the retried syscall then reports what happened. `error` is a
  // socket error the OS handed over with the event (kqueue's fflags with EV_EOF), 0 if none.
  struct Readiness {
    int fd;
    bool readable;
    bool writable;
    int error = 0;
    bool input_ended = false;  // the peer closed its side, or the socket failed (EPOLLRDHUP, EV_EOF)
  };

  // Register `fd` for edge-triggered readability and writability; forget it.
  virtual void watch(int fd) = 0;
  virtual void unwatch(int fd) = 0;
  // Wait for readiness until `timeout` (nullopt: for ever), append what arrived to `out`. A wake()
  // makes it return early; it absorbs the wake-up itself.
  virtual void poll(std::vector<Readiness>& out, std::optional<std::chrono::milliseconds> timeout) = 0;
  // Makes a blocked poll() return. Called from any thread.
  virtual void wake() = 0;

 private:
  // One parked operation: what to do, the lent buffer, and how far it got.
  struct Pending {
    Op op;
    UserData user_data;
    std::byte* data = nullptr;
    std::size_t size = 0;
    std::size_t done = 0;            // write: bytes already sent
    bool connect_started = false;    // connect: connect() has been called once
    std::unique_ptr<Endpoint> to{};  // connect only (kept out of line: Pending stays small)
  };
  struct SocketState {
    std::deque<Pending> input;   // accept and read: wait for readable
    std::deque<Pending> output;  // connect and write: wait for writable
    // A socket error that came with an event rather than from a syscall. Where reading it also
    // cleared it (SO_ERROR, as ch03's emulation does to fill fflags), the retried syscall would
    // report a clean end of stream, or a connect still in progress, instead of the error.
    int event_error = 0;
    // False once a read came back short or with EAGAIN: the kernel's receive buffer is then known
    // empty (epoll(7) says a short read on a stream socket means so), and the next read parks at
    // once instead of making a syscall that could only say EAGAIN. The next readable edge sets it.
    bool may_have_input = true;
    // An end of stream or an error is a state, not data: it brings no new edge after the short read
    // that came before it. Once an event said so, every read tries its syscall.
    bool input_ended = false;
  };
  enum class Step { completed, would_block };

  void submit(int fd, SocketState& s, std::deque<Pending>& queue, Pending op);
  Step attempt(int fd, SocketState& s, Pending& op);
  void drive(int fd, SocketState& s, std::deque<Pending>& queue);

  SocketTable<SocketState> sockets_;
  CompletionFifo ready_;  // finished, waiting to be returned by wait()
  std::vector<Readiness> events_;
  std::size_t pending_ = 0;
  bool skipped_poll_ = false;
  PostBox posts_;
};

}  // namespace evq::completion
