// Lab "timer packets", reference solution: one timer thread sleeping until the earliest deadline.
#include "evq/port/lab/timer_packets.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

namespace evq::port::lab {

using Clock = std::chrono::steady_clock;

struct TimerPackets::State {
  explicit State(Port& p) : port(p) {}

  void run() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      if (by_deadline.empty()) {
        changed.wait(lock);
        continue;
      }
      auto first = by_deadline.begin();
      if (const Clock::time_point due = first->first.first; Clock::now() < due) {
        // A copy, not a reference into the map: wait_until reads it again after waking, and while
        // we waited (the lock released) cancel() may have erased that very timer.
        changed.wait_until(lock, due);  // woken early by schedule/cancel/stop
        continue;
      }
      Packet packet = first->second;
      deadline_of.erase(first->first.second);
      by_deadline.erase(first);
      lock.unlock();
      port.post(packet);  // outside the lock: post() may wake a thread right away
      lock.lock();
    }
  }

  Port& port;
  mutable std::mutex mutex;
  std::condition_variable changed;
  // (deadline, id) -> packet: ordered by deadline, ties by scheduling order (ids grow).
  std::map<std::pair<Clock::time_point, std::uint64_t>, Packet> by_deadline;
  std::unordered_map<std::uint64_t, Clock::time_point> deadline_of;
  std::uint64_t next_id = 1;
  bool stopping = false;
  std::thread thread;
};

TimerPackets::TimerPackets(Port& port) : state_(std::make_unique<State>(port)) {
  state_->thread = std::thread([s = state_.get()] { s->run(); });
}

TimerPackets::~TimerPackets() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->changed.notify_all();
  state_->thread.join();
}

std::uint64_t TimerPackets::schedule(std::chrono::milliseconds delay, std::uint64_t key, std::uint64_t user) {
  std::lock_guard lock(state_->mutex);
  std::uint64_t id = state_->next_id++;
  Clock::time_point deadline = Clock::now() + delay;
  state_->by_deadline[{deadline, id}] = Packet{key, 0, user, {}};
  state_->deadline_of[id] = deadline;
  state_->changed.notify_all();
  return id;
}

bool TimerPackets::cancel(std::uint64_t id) {
  std::lock_guard lock(state_->mutex);
  auto it = state_->deadline_of.find(id);
  if (it == state_->deadline_of.end()) return false;
  state_->by_deadline.erase({it->second, id});
  state_->deadline_of.erase(it);
  state_->changed.notify_all();
  return true;
}

std::size_t TimerPackets::pending() const {
  std::lock_guard lock(state_->mutex);
  return state_->deadline_of.size();
}

}  // namespace evq::port::lab
