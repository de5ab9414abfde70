// Lab 1 (chapter 3): idle timeouts with EVFILT_TIMER.
//
// A server wants to close connections that stay silent for too long. With kqueue there is no timer
// wheel to write: each watched connection gets an EVFILT_TIMER of its own, whose ident is the
// connection's descriptor (timer idents are the program's to choose, and (ident, filter) pairs do not
// clash: timer 7 and EVFILT_READ on fd 7 are two different events). Handout: notes/ch03-kqueue.md,
// "Lab 1: idle timeouts". Your file: exercises/ch03-kqueue/idle_timers.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "evq/kq/kqueue.hpp"

namespace evq::kq::lab {

class IdleTimers {
 public:
  // Timers go into `kq` (which must outlive this object); `idle` is the silence allowed.
  IdleTimers(Kqueue& kq, std::chrono::milliseconds idle);
  ~IdleTimers();
  IdleTimers(const IdleTimers&) = delete;
  IdleTimers& operator=(const IdleTimers&) = delete;

  // Starts the idle clock of `fd`: after `idle` without touch(fd), kevent() reports one EVFILT_TIMER
  // event whose ident is fd. Throws std::invalid_argument if fd is already watched.
  void watch(int fd);

  // There was activity on fd: its clock starts again from now, and an expiry that happened but was
  // not delivered yet is thrown away. Throws std::out_of_range if fd is not watched.
  void touch(int fd);

  // Stop watching fd: no idle event will be reported for it. Forgetting an unwatched fd does nothing.
  void forget(int fd);

  // Given an event from kevent(): if it is the idle timer of a watched fd, stops watching that fd and
  // returns it; for any other event returns -1.
  int expired(const struct kevent& ev);

  // How many descriptors are watched.
  std::size_t watched() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace evq::kq::lab
