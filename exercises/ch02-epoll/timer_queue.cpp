// YOUR FILE for lab ch02/timer_queue.
// Handout: notes/ch02-epoll.md, "Lab 1: a timer queue on one timerfd".
// Interface and contract: chapters/ch02-epoll/include/evq/epoll/lab/timer_queue.hpp.
// Replace every TODO(lab) body and keep the signatures; the grader builds this file and no other.
// Grade it: tools/lab grade ch02 --lab timer_queue
//
// Useful: timerfd_create(2), timerfd_settime(2), read(2) on a timerfd (8 bytes: the number of
// expirations), std::map, evq::check / evq::UniqueFd.
#include "evq/epoll/lab/timer_queue.hpp"

#include <stdexcept>

#include "evq/common/error.hpp"
#include "evq/common/unique_fd.hpp"

namespace evq::epoll::lab {

struct TimerQueue::State {
  // TODO(lab): the timerfd (a UniqueFd), the pending timers in deadline order, the next id...
};

TimerQueue::TimerQueue() : state_(std::make_unique<State>()) {
  // TODO(lab): create the timerfd (CLOCK_MONOTONIC, non-blocking, close-on-exec).
  throw std::logic_error("TODO(lab): TimerQueue::TimerQueue is not written yet");
}

TimerQueue::~TimerQueue() = default;

int TimerQueue::fd() const {
  // TODO(lab): return the timerfd.
  throw std::logic_error("TODO(lab): TimerQueue::fd is not written yet");
}

TimerId TimerQueue::add(Clock::duration /*delay*/, Callback /*callback*/) {
  // TODO(lab): remember the timer; if it is the new earliest, re-arm the timerfd.
  throw std::logic_error("TODO(lab): TimerQueue::add is not written yet");
}

bool TimerQueue::cancel(TimerId /*id*/) {
  // TODO(lab): forget the timer; re-arm (or disarm) if it was the earliest.
  throw std::logic_error("TODO(lab): TimerQueue::cancel is not written yet");
}

std::size_t TimerQueue::on_readable() {
  // TODO(lab): read the timerfd, run the due timers earliest first, re-arm for the next.
  throw std::logic_error("TODO(lab): TimerQueue::on_readable is not written yet");
}

std::size_t TimerQueue::pending() const {
  // TODO(lab)
  throw std::logic_error("TODO(lab): TimerQueue::pending is not written yet");
}

std::optional<TimerQueue::Clock::time_point> TimerQueue::next_deadline() const {
  // TODO(lab)
  throw std::logic_error("TODO(lab): TimerQueue::next_deadline is not written yet");
}

}  // namespace evq::epoll::lab
