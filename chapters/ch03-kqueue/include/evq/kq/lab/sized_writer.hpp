// Lab 2 (chapter 3): a write path sized by EVFILT_WRITE's data.
//
// kqueue tells a writer more than "you may write": EVFILT_WRITE's `data` says how much room the send
// buffer has. A SizedWriter queues outgoing bytes, asks for EVFILT_WRITE only while it has something
// to send, and on each event writes no more than `data` bytes. Handout: notes/ch03-kqueue.md,
// "Lab 2: a sized write path". Your file: exercises/ch03-kqueue/sized_writer.cpp.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "evq/kq/kqueue.hpp"

namespace evq::kq::lab {

class SizedWriter {
 public:
  // `fd` is a connected, non-blocking socket (not owned); EVFILT_WRITE events for it go into `kq`
  // and carry `udata`.
  SizedWriter(Kqueue& kq, int fd, void* udata = nullptr);
  ~SizedWriter();
  SizedWriter(const SizedWriter&) = delete;
  SizedWriter& operator=(const SizedWriter&) = delete;

  // Queues `bytes` behind what is already queued. Writes nothing itself: if the queue was empty, it
  // registers EVFILT_WRITE for fd (with udata) so that kevent() reports when there is room.
  void send(std::string_view bytes);

  // Handles an EVFILT_WRITE event for fd and returns how many bytes it wrote:
  //  - at most ev.data bytes, in one send() (evq::kSendFlags: MSG_NOSIGNAL where it exists), from the front of the queue; EAGAIN: 0;
  //  - when the queue becomes empty, deletes the EVFILT_WRITE registration (no more events come);
  //  - if ev has EV_EOF (the peer is gone), drops the queue, keeps ev.fflags as error(), deletes the
  //    registration and returns 0. A failing send() is handled the same way with its errno.
  std::size_t on_writable(const struct kevent& ev);

  std::size_t queued() const;  // bytes not yet written
  bool registered() const;     // is EVFILT_WRITE registered for fd right now?
  int error() const;           // 0, or the error that ended the connection

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace evq::kq::lab
