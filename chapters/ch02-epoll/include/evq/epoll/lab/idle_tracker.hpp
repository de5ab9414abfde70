// Lab "idle_tracker": find the connections that have been silent for too long.
//
// A server that never closes idle connections runs out of file descriptors to clients that went
// away without a FIN (a pulled cable, a crashed NAT box). The fix is an idle timeout, and the
// cheap way to keep one for thousands of connections is a list in order of last activity: every
// read moves its connection to the back, so the front is always the one idle the longest, and the
// epoll_wait timeout is simply "until the front one expires".
//
//   IdleTracker idle(30s);
//   idle.touch(token, now);                      // on accept and on every read
//   poll.wait(events, idle.time_to_next_expiry(now));
//   for (Token t : idle.expire(Clock::now())) close_connection(t);
//
// Time is passed in, never read inside, so the tracker is tested without sleeping.
// You write: exercises/ch02-epoll/idle_tracker.cpp. Handout: notes/ch02-epoll.md, "Lab 3".
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "evq/epoll/poll.hpp"

namespace evq::epoll::lab {

class IdleTracker {
 public:
  using Clock = std::chrono::steady_clock;

  // A connection expires once it has been idle for `limit` or longer.
  explicit IdleTracker(Clock::duration limit);
  ~IdleTracker();
  IdleTracker(const IdleTracker&) = delete;
  IdleTracker& operator=(const IdleTracker&) = delete;

  // Activity on `token` at `now`: starts tracking a new connection, or restarts an existing one's
  // idle time. Must be O(1) (amortised): it runs on every read.
  void touch(Token token, Clock::time_point now);

  // The connection closed by itself: stop tracking it. Unknown tokens are ignored.
  void forget(Token token);

  // Every tracked connection idle for `limit` or longer at `now`, the longest idle first. They are
  // no longer tracked afterwards (the caller closes them).
  std::vector<Token> expire(Clock::time_point now);

  // How long until the next connection expires, as of `now`: std::nullopt when nothing is
  // tracked (wait for ever), zero when one is already due. Made to be epoll_wait's timeout;
  // rounded UP to whole milliseconds, so the loop never wakes a little too early and spins.
  std::optional<std::chrono::milliseconds> time_to_next_expiry(Clock::time_point now) const;

  std::size_t size() const;

 private:
  struct State;  // yours to define in idle_tracker.cpp
  std::unique_ptr<State> state_;
};

}  // namespace evq::epoll::lab
