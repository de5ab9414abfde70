// YOUR FILE for lab ch06/channel.
// Handout: notes/ch06-coroutines.md, "Lab 2: a channel between coroutines".
// Interface and contract: chapters/ch06-coroutines/include/evq/coro/lab/channel.hpp.
// Replace every TODO(lab) body and keep the signatures; the grader builds this file and no other.
// Grade it: tools/lab grade ch06 --lab channel
//
// Useful: Loop::resume_soon (evq/coro/loop.hpp); the members buffer_, senders_, receivers_ and
// closed_ that the header gives you; std::deque's push_back, front and pop_front.
#include "evq/coro/lab/channel.hpp"

#include <stdexcept>

namespace evq::coro::lab {

Channel::Channel(Loop& loop, std::size_t capacity) : loop_(loop), capacity_(capacity) {
  // TODO(lab): refuse a capacity of 0.
}

bool Channel::SendAwaiter::await_ready() {
  // TODO(lab): finish the send at once when you can (closed, a receiver waiting, room left).
  throw std::logic_error("TODO(lab): Channel::send is not written yet");
}

void Channel::SendAwaiter::await_suspend(std::coroutine_handle<> h) {
  (void)h;
  // TODO(lab): the channel is full: wait in line.
}

bool Channel::ReceiveAwaiter::await_ready() {
  // TODO(lab): take the oldest value (and let a waiting sender in), or end, or wait.
  throw std::logic_error("TODO(lab): Channel::receive is not written yet");
}

void Channel::ReceiveAwaiter::await_suspend(std::coroutine_handle<> h) {
  (void)h;
  // TODO(lab): the channel is empty: wait in line.
}

void Channel::close() {
  // TODO(lab): no more sends; wake everyone who waits.
  closed_ = true;
}

}  // namespace evq::coro::lab
