// Lab "timer_queue", reference solution. See chapters/ch02-epoll/include/evq/epoll/lab/timer_queue.hpp.
#include "evq/epoll/lab/timer_queue.hpp"

#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <unordered_map>
#include <utility>

#include "evq/common/error.hpp"
#include "evq/common/unique_fd.hpp"

namespace evq::epoll::lab {

struct TimerQueue::State {
  UniqueFd timer_fd;
  // Ordered by (deadline, id): the earliest first, and equal deadlines in the order added.
  std::map<std::pair<Clock::time_point, TimerId>, Callback> by_deadline;
  std::unordered_map<TimerId, Clock::time_point> deadline_of;
  TimerId next_id = 1;

  // [snippet timer-arm]
  // Points the one timerfd at the earliest deadline, or disarms it when no timer is left.
  void arm() {
    itimerspec spec{};  // all zero: disarm
    if (!by_deadline.empty()) {
      auto wait = by_deadline.begin()->first.first - Clock::now();
      // An it_value of zero DISARMS a timerfd, so a due (or overdue) timer gets 1 ns instead.
      auto ns = std::max<std::chrono::nanoseconds::rep>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count(), 1);
      spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
      spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    }
    check(::timerfd_settime(timer_fd.get(), 0, &spec, nullptr), "timerfd_settime");
  }
  // [/snippet timer-arm]
};

TimerQueue::TimerQueue() : state_(std::make_unique<State>()) {
  state_->timer_fd = UniqueFd(check(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC),
                                    "timerfd_create(CLOCK_MONOTONIC)"));
}

TimerQueue::~TimerQueue() = default;

int TimerQueue::fd() const {
  return state_->timer_fd.get();
}

TimerId TimerQueue::add(Clock::duration delay, Callback callback) {
  State& s = *state_;
  TimerId id = s.next_id++;
  Clock::time_point deadline = Clock::now() + std::max(delay, Clock::duration::zero());
  bool new_earliest = s.by_deadline.empty() || deadline < s.by_deadline.begin()->first.first;
  s.by_deadline.emplace(std::pair(deadline, id), std::move(callback));
  s.deadline_of.emplace(id, deadline);
  if (new_earliest) s.arm();
  return id;
}

bool TimerQueue::cancel(TimerId id) {
  State& s = *state_;
  auto it = s.deadline_of.find(id);
  if (it == s.deadline_of.end()) return false;
  bool was_earliest = s.by_deadline.begin()->first == std::pair(it->second, id);
  s.by_deadline.erase(std::pair(it->second, id));
  s.deadline_of.erase(it);
  if (was_earliest) s.arm();  // also disarms when that was the last one
  return true;
}

// [snippet timer-fire]
std::size_t TimerQueue::on_readable() {
  State& s = *state_;
  std::uint64_t expirations = 0;
  // Reading resets the timerfd's readiness. EAGAIN is fine: it was re-armed since epoll looked.
  if (::read(s.timer_fd.get(), &expirations, sizeof expirations) < 0 && errno != EAGAIN)
    throw_errno("read(timerfd)");
  const Clock::time_point now = Clock::now();  // timers added by callbacks are later than this
  std::size_t ran = 0;
  while (!s.by_deadline.empty() && s.by_deadline.begin()->first.first <= now) {
    auto node = s.by_deadline.extract(s.by_deadline.begin());
    s.deadline_of.erase(node.key().second);
    node.mapped()();  // may add or cancel timers: we hold no iterator across the call
    ++ran;
  }
  s.arm();
  return ran;
}
// [/snippet timer-fire]

std::size_t TimerQueue::pending() const {
  return state_->by_deadline.size();
}

std::optional<TimerQueue::Clock::time_point> TimerQueue::next_deadline() const {
  if (state_->by_deadline.empty()) return std::nullopt;
  return state_->by_deadline.begin()->first.first;
}

}  // namespace evq::epoll::lab
