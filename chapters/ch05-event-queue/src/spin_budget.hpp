// SpinBudget: how long a thread about to sleep in get() first spins, watching for its packet (internal).
//
// Sleeping costs two context switches and a few microseconds of the kernel's time on each side;
// spinning costs a CPU that nobody else can use meanwhile. When packets come one at a time from a
// thread that answers quickly (a request and its reply), the packet usually arrives within a
// microsecond or two, and a short spin saves the whole sleep. When the port is idle, every spin is
// wasted. So each thread keeps a budget, adapted to what spinning has been earning it:
//  - the spin caught the packet, or the sleep that followed ended within the limit: spinning
//    pays, double the budget (up to the limit);
//  - the thread slept longer than the limit (or timed out): spinning would not have helped, halve
//    it, and below kFloor stop spinning at all until a short sleep says it would pay again.
// The limit (evq::port::set_spin_limit, 8 us unless changed) bounds what an idle thread burns: one
// spin of at most that long per park, then it sleeps.
#pragma once

#include <algorithm>
#include <chrono>

namespace evq::port::detail {

class SpinBudget {
 public:
  using Duration = std::chrono::nanoseconds;
  static constexpr Duration kDefaultLimit{8'000};
  static constexpr Duration kFloor{250};

  // How long the next park may spin, never more than `limit`.
  Duration current(Duration limit) const { return std::min(budget_, limit); }

  // The spin found the packet.
  void caught_while_spinning(Duration limit) { grow(limit); }
  // The thread slept for `slept` before its packet came (or its deadline passed).
  void slept_for(Duration slept, Duration limit) {
    if (slept <= limit)
      grow(limit);  // a near miss: a longer spin would have caught it
    else
      shrink();
  }

 private:
  void grow(Duration limit) { budget_ = std::min(std::max(budget_ * 2, kFloor * 2), limit); }
  void shrink() { budget_ = budget_ / 2 < kFloor ? Duration::zero() : budget_ / 2; }

  Duration budget_ = kDefaultLimit;  // a new thread spins: its first waits are often hand-offs in flight
};

}  // namespace evq::port::detail
