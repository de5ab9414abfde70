// Lab "idle_tracker", reference solution. See chapters/ch02-epoll/include/evq/epoll/lab/idle_tracker.hpp.
#include "evq/epoll/lab/idle_tracker.hpp"

#include <list>
#include <unordered_map>

namespace evq::epoll::lab {

// [snippet idle-state]
struct IdleTracker::State {
  struct Entry {
    Token token;
    Clock::time_point last_active;
  };
  Clock::duration limit;
  // Least recently active at the front. Every touch moves an entry to the back, so the list stays
  // sorted by last activity without ever being sorted.
  std::list<Entry> by_activity;
  std::unordered_map<Token, std::list<Entry>::iterator> where;
};
// [/snippet idle-state]

IdleTracker::IdleTracker(Clock::duration limit) : state_(std::make_unique<State>()) {
  state_->limit = limit;
}

IdleTracker::~IdleTracker() = default;

// [snippet idle-touch]
void IdleTracker::touch(Token token, Clock::time_point now) {
  State& s = *state_;
  if (auto it = s.where.find(token); it != s.where.end()) {
    it->second->last_active = now;
    s.by_activity.splice(s.by_activity.end(), s.by_activity, it->second);  // O(1), no allocation
    return;
  }
  s.by_activity.push_back({token, now});
  s.where.emplace(token, std::prev(s.by_activity.end()));
}
// [/snippet idle-touch]

void IdleTracker::forget(Token token) {
  State& s = *state_;
  auto it = s.where.find(token);
  if (it == s.where.end()) return;
  s.by_activity.erase(it->second);
  s.where.erase(it);
}

std::vector<Token> IdleTracker::expire(Clock::time_point now) {
  State& s = *state_;
  std::vector<Token> expired;
  while (!s.by_activity.empty() && now - s.by_activity.front().last_active >= s.limit) {
    expired.push_back(s.by_activity.front().token);
    s.where.erase(s.by_activity.front().token);
    s.by_activity.pop_front();
  }
  return expired;
}

std::optional<std::chrono::milliseconds> IdleTracker::time_to_next_expiry(Clock::time_point now) const {
  const State& s = *state_;
  if (s.by_activity.empty()) return std::nullopt;
  Clock::duration left = s.by_activity.front().last_active + s.limit - now;
  if (left <= Clock::duration::zero()) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(left);
}

std::size_t IdleTracker::size() const {
  return state_->where.size();
}

}  // namespace evq::epoll::lab
