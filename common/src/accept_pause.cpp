#include "evq/common/accept_pause.hpp"

#include <cerrno>

namespace evq {

#ifndef _WIN32
AcceptError classify_accept_errno(int err) {
  switch (err) {
    case EINTR:
      return AcceptError::interrupted;
    case EAGAIN:
#if EAGAIN != EWOULDBLOCK
    case EWOULDBLOCK:
#endif
      return AcceptError::would_block;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      return AcceptError::machine_full;
    // accept(2): these belong to the one pending connection (reset before we took it, or a network
    // error Linux passes on); the listener itself is fine and may have more queued.
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
#ifdef ENONET
    case ENONET:
#endif
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
      return AcceptError::connection_lost;
    default:
      return AcceptError::fatal;
  }
}
#endif

bool AcceptPause::begin(std::error_code error, Clock::time_point now) {
  const bool first = !paused_;
  if (first)
    ++episodes_;
  else
    ++retries_;  // a retry that found the machine still full
  paused_ = true;
  error_ = error;
  retry_at_ = now + kRetry;
  return first;
}

std::uint64_t AcceptPause::end() {
  std::uint64_t retries = retries_;
  paused_ = false;
  retries_ = 0;
  return retries;
}

bool AcceptPause::take_retry(Clock::time_point now) {
  if (!paused_ || now < retry_at_) return false;
  retry_at_ = Clock::time_point::max();  // taken: nobody else retries until begin() or end()
  return true;
}

std::optional<std::chrono::milliseconds> AcceptPause::time_left(Clock::time_point now) const {
  if (!paused_ || retry_at_ == Clock::time_point::max()) return std::nullopt;
  if (now >= retry_at_) return std::chrono::milliseconds(0);
  // Rounded up: a wait that ends a little early would find the pause not yet due and wait 0 ms.
  return std::chrono::ceil<std::chrono::milliseconds>(retry_at_ - now);
}

}  // namespace evq
