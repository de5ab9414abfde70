// What a server does when accept() fails because the machine is full.
//
// EMFILE (this process has no descriptor left), ENFILE (the system has none), ENOBUFS and ENOMEM
// (the kernel is short of memory) do not consume the waiting connection: it stays in the listen
// queue, the listener stays readable, and a loop that just retries asks again at once, for ever,
// at 100% of a core. The book's servers all answer the same way, the way nginx does:
//
//   1. stop watching the listener (or stop issuing accepts) and note the time,
//   2. keep serving the connections already open (their closing is what frees descriptors),
//   3. after kRetry, try one accept; still full: pause again; it worked: accept as usual.
//
// A paused server costs one failed accept() per 100 ms: no spin, and it accepts again at most
// 100 ms after a descriptor frees up. (libuv instead keeps a spare descriptor open, closes it to
// accept-and-close the waiting connections, and reopens it; see notes/ch02-epoll.md for the choice.)
//
// Single-threaded: a server whose threads share one AcceptPause guards it with its own lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <system_error>

namespace evq {

// What an accept() error means for the listener that got it: one policy for every server here.
enum class AcceptError {
  interrupted,      // EINTR: ask again now
  would_block,      // EAGAIN/EWOULDBLOCK: the queue is empty, wait for readiness
  connection_lost,  // ECONNABORTED, EPROTO, ...: that one connection died first; the next may be fine
  machine_full,     // EMFILE, ENFILE, ENOBUFS, ENOMEM: pause (see above)
  fatal,            // anything else (EBADF, EINVAL, ...): a bug; throw
};
#ifndef _WIN32
AcceptError classify_accept_errno(int err);
#endif

class AcceptPause {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kRetry{100};

  // accept() failed with `error` because the machine is full: stop accepting until kRetry from
  // `now`. True for the first failure of an episode, so the caller can tell the reader once.
  bool begin(std::error_code error, Clock::time_point now = Clock::now());
  // An accept worked again (or the server stops): the episode is over. Returns how many retries
  // the episode took, 0 if there was none.
  std::uint64_t end();

  bool paused() const { return paused_; }
  // True once when the retry is due: the caller then tries accepting again, and reports the outcome
  // with begin() (still full) or end() (it worked). Until then, time_left() says "no limit".
  bool take_retry(Clock::time_point now = Clock::now());
  // How long until the next try, for a wait's timeout: nullopt when not paused.
  std::optional<std::chrono::milliseconds> time_left(Clock::time_point now = Clock::now()) const;
  std::error_code error() const { return error_; }
  std::uint64_t episodes() const { return episodes_; }

 private:
  bool paused_ = false;
  Clock::time_point retry_at_{};
  std::error_code error_{};
  std::uint64_t retries_ = 0;
  std::uint64_t episodes_ = 0;
};

}  // namespace evq
