// YOUR FILE for lab ch02/idle_tracker.
// Handout: notes/ch02-epoll.md, "Lab 3: idle connections".
// Interface and contract: chapters/ch02-epoll/include/evq/epoll/lab/idle_tracker.hpp.
// Replace every TODO(lab) body and keep the signatures; the grader builds this file and no other.
// Grade it: tools/lab grade ch02 --lab idle_tracker
//
// Useful: std::list (splice moves a node in O(1)), std::unordered_map, std::chrono::ceil.
#include "evq/epoll/lab/idle_tracker.hpp"

#include <stdexcept>

namespace evq::epoll::lab {

struct IdleTracker::State {
  // TODO(lab): the limit, the connections in order of last activity, a way to find one by token...
};

IdleTracker::IdleTracker(Clock::duration /*limit*/) : state_(std::make_unique<State>()) {
  // TODO(lab): remember the limit.
  throw std::logic_error("TODO(lab): IdleTracker::IdleTracker is not written yet");
}

IdleTracker::~IdleTracker() = default;

void IdleTracker::touch(Token /*token*/, Clock::time_point /*now*/) {
  // TODO(lab): start tracking, or move to the back as the most recently active.
  throw std::logic_error("TODO(lab): IdleTracker::touch is not written yet");
}

void IdleTracker::forget(Token /*token*/) {
  // TODO(lab)
  throw std::logic_error("TODO(lab): IdleTracker::forget is not written yet");
}

std::vector<Token> IdleTracker::expire(Clock::time_point /*now*/) {
  // TODO(lab): take the expired ones off the front, longest idle first.
  throw std::logic_error("TODO(lab): IdleTracker::expire is not written yet");
}

std::optional<std::chrono::milliseconds> IdleTracker::time_to_next_expiry(Clock::time_point /*now*/) const {
  // TODO(lab): nullopt, zero, or the time left rounded up to whole milliseconds.
  throw std::logic_error("TODO(lab): IdleTracker::time_to_next_expiry is not written yet");
}

std::size_t IdleTracker::size() const {
  // TODO(lab)
  throw std::logic_error("TODO(lab): IdleTracker::size is not written yet");
}

}  // namespace evq::epoll::lab
