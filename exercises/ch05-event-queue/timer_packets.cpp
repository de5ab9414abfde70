// YOUR FILE for lab ch05/timer_packets.
// Handout: notes/ch05-event-queue.md, "Lab 1: timers delivered as packets".
// Interface and contract: chapters/ch05-event-queue/include/evq/port/lab/timer_packets.hpp.
// Replace every TODO(lab) body and keep the signatures; the grader builds this file and no other.
// Grade it: tools/lab grade ch05 --lab timer_packets
//
// Useful: Port::post (evq/port/port.hpp), std::thread, std::condition_variable, std::map.
#include "evq/port/lab/timer_packets.hpp"

#include <stdexcept>

namespace evq::port::lab {

struct TimerPackets::State {
  // TODO(lab): what the timer thread needs: the port, the timers by deadline, a mutex, a
  // condition variable, a stop flag, the thread itself.
};

TimerPackets::TimerPackets(Port& port) {
  (void)port;
  // TODO(lab): create the state and start the timer thread.
  throw std::logic_error("TODO(lab): TimerPackets is not written yet");
}

TimerPackets::~TimerPackets() {
  // TODO(lab): stop the timer thread promptly; nothing may fire afterwards.
}

std::uint64_t TimerPackets::schedule(std::chrono::milliseconds delay, std::uint64_t key, std::uint64_t user) {
  (void)delay;
  (void)key;
  (void)user;
  throw std::logic_error("TODO(lab): TimerPackets::schedule");
}

bool TimerPackets::cancel(std::uint64_t id) {
  (void)id;
  throw std::logic_error("TODO(lab): TimerPackets::cancel");
}

std::size_t TimerPackets::pending() const {
  throw std::logic_error("TODO(lab): TimerPackets::pending");
}

}  // namespace evq::port::lab
