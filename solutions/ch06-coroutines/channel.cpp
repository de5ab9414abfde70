// Lab "channel", reference solution.
#include "evq/coro/lab/channel.hpp"

#include <stdexcept>

namespace evq::coro::lab {

Channel::Channel(Loop& loop, std::size_t capacity) : loop_(loop), capacity_(capacity) {
  if (capacity == 0) throw std::invalid_argument("Channel: capacity must be at least 1");
}

// A send either finishes at once (closed, a receiver waiting, or room) or waits for room.
bool Channel::SendAwaiter::await_ready() {
  Channel& ch = channel;
  if (ch.closed_) return true;   // sent stays false: the value is dropped
  if (!ch.receivers_.empty()) {  // someone waits on an empty channel: hand it over directly
    ReceiveAwaiter* r = ch.receivers_.front();
    ch.receivers_.pop_front();
    r->value = std::move(value);
    ch.loop_.resume_soon(r->waiter);
    sent = true;
    return true;
  }
  if (ch.buffer_.size() < ch.capacity_) {
    ch.buffer_.push_back(std::move(value));
    sent = true;
    return true;
  }
  return false;  // full: wait in line
}

void Channel::SendAwaiter::await_suspend(std::coroutine_handle<> h) {
  waiter = h;
  channel.senders_.push_back(this);
}

// A receive takes the oldest value (and lets the first waiting sender's value in behind it), or
// ends the stream (closed and drained), or waits.
bool Channel::ReceiveAwaiter::await_ready() {
  Channel& ch = channel;
  if (!ch.buffer_.empty()) {
    value = std::move(ch.buffer_.front());
    ch.buffer_.pop_front();
    if (!ch.senders_.empty()) {  // there is room now: the first waiting sender's value goes in
      SendAwaiter* s = ch.senders_.front();
      ch.senders_.pop_front();
      ch.buffer_.push_back(std::move(s->value));
      s->sent = true;
      ch.loop_.resume_soon(s->waiter);
    }
    return true;
  }
  return ch.closed_;  // closed and empty: nullopt; open and empty: wait
}

void Channel::ReceiveAwaiter::await_suspend(std::coroutine_handle<> h) {
  waiter = h;
  channel.receivers_.push_back(this);
}

void Channel::close() {
  if (closed_) return;
  closed_ = true;
  for (ReceiveAwaiter* r : receivers_) loop_.resume_soon(r->waiter);  // value stays nullopt
  receivers_.clear();
  for (SendAwaiter* s : senders_) loop_.resume_soon(s->waiter);  // sent stays false
  senders_.clear();
}

}  // namespace evq::coro::lab
