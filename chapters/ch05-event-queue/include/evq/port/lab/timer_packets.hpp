// Lab "timer packets": timers delivered as completion packets.
//
// A server on a port wants timeouts ("close this connection if it says nothing for 30 s") to arrive
// the way everything else does: as a packet that one of the pool's threads takes from get(). You
// write TimerPackets: schedule() arms a timer; when its delay has passed, the timer posts
// Packet{key, 0, user} into the port, exactly once, unless it was cancelled first.
//
// Your file: exercises/ch05-event-queue/timer_packets.cpp. Rules:
//  - timers fire in deadline order, whatever the order they were scheduled in;
//  - cancel(id) returns true only if it stopped a timer that had not fired yet;
//  - the destructor returns promptly (no waiting for far-away deadlines) and nothing fires after it;
//  - every call may come from any thread.
// Hint: one thread that sleeps on a condition variable until the earliest deadline (or a change).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "evq/port/port.hpp"

namespace evq::port::lab {

class TimerPackets {
 public:
  explicit TimerPackets(Port& port);
  ~TimerPackets();
  TimerPackets(const TimerPackets&) = delete;
  TimerPackets& operator=(const TimerPackets&) = delete;

  // After `delay`, post Packet{key, 0, user} to the port. Returns the timer's id (never 0).
  std::uint64_t schedule(std::chrono::milliseconds delay, std::uint64_t key, std::uint64_t user = 0);
  // Stops a timer that has not fired. False if it fired already, was cancelled, or never existed.
  bool cancel(std::uint64_t id);
  // Timers armed and not yet fired or cancelled.
  std::size_t pending() const;

 private:
  struct State;  // yours: define it in your .cpp
  std::unique_ptr<State> state_;
};

}  // namespace evq::port::lab
