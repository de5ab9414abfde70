// An eventfd that lets another thread wake a thread blocked in epoll_wait.
//
// epoll_wait has no "please return now" call. The usual answer is to register one more fd that we
// control: an eventfd. notify() writes to it, which makes it readable, which ends the wait.
#pragma once

#include "evq/common/unique_fd.hpp"

namespace evq::epoll {

class Wakeup {
 public:
  // eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC).
  Wakeup();

  int fd() const { return fd_.get(); }
  // Adds 1 to the counter: the fd becomes readable. Safe from any thread, any number of times.
  void notify() const;
  // Reads (and so resets) the counter; returns false if there was nothing to read.
  bool drain() const;

 private:
  UniqueFd fd_;
};

}  // namespace evq::epoll
