// SpinBudget: how long a thread about to sleep in get() first spins, watching for its packet (internal).
//
// Sleeping costs the sleeper and its waker a trip through the kernel and the scheduler: the wake
// cost, from the waker's unpark() to the sleeper running again. On a bare-metal x86 machine it is a
// few microseconds; on this book's 2-vCPU virtual machine it is 20-30 us, because an idle virtual
// CPU has to be woken by the hypervisor. Spinning costs a CPU that nobody else can use meanwhile.
// The classic answer (spin about as long as blocking would cost, then block) never spends more than
// twice the best choice made in hindsight, so the limit on a spin follows the measured wake cost:
//
//   limit = clamp(1.5 x wake cost, kMinLimit, cap)        cap: evq::port::set_spin_limit, 50 us
//
// A spin shorter than the wake cost is worse than useless for a request/response hand-off: the
// reply arrives while the waiter is falling asleep, and from then on every hand-off finds the other
// thread asleep (bench_port --mode spin-curve shows the cliff). Within the limit each thread keeps
// a budget, adapted to what spinning has been earning it:
//  - the spin caught the packet, or the packet came within the limit of the thread falling
//    asleep (a near miss): double the budget, up to the limit;
//  - it came later (or never): halve it, and below kFloor stop spinning at all until a near miss
//    says spinning would pay again.
// An idle thread therefore spins at most once per park, for at most the limit, then sleeps.
#pragma once

#include <algorithm>
#include <chrono>

namespace evq::port::detail {

class SpinBudget {
 public:
  using Duration = std::chrono::nanoseconds;
  static constexpr Duration kDefaultCap{50'000};
  static constexpr Duration kMinLimit{2'000};
  static constexpr Duration kFloor{250};
  static constexpr Duration kFirstWakeCost{8'000};  // the guess until this process has measured one

  // How long the next park may spin, never more than `limit`.
  Duration current(Duration limit) const { return std::min(budget_, limit); }

  // The spin found the packet.
  void caught_while_spinning(Duration limit) { grow(limit); }
  // The thread fell asleep, and its packet came `later` afterwards (or the deadline did).
  void slept(Duration later, Duration limit) {
    if (later <= limit)
      grow(limit);  // a near miss: a longer spin would have caught it
    else
      shrink(limit);
  }

  // The limit for a measured wake cost and a cap.
  static Duration limit_for(Duration wake_cost, Duration cap) {
    return std::min(std::max(wake_cost * 3 / 2, kMinLimit), cap);
  }

 private:
  void grow(Duration limit) { budget_ = std::min(std::max(budget_ * 2, kFloor * 2), limit); }
  void shrink(Duration limit) {
    const Duration half = std::min(budget_, limit) / 2;
    budget_ = half < kFloor ? Duration::zero() : half;
  }

  Duration budget_ = kDefaultCap;  // a new thread spins: its first waits are often hand-offs in flight
};

// The process-wide estimate of the wake cost (port.cpp): a moving average of what parked threads
// measured between their unpark() and running again.
SpinBudget::Duration wake_cost();
void note_wake_cost(SpinBudget::Duration measured);
// The spin limit now: SpinBudget::limit_for(wake_cost(), evq::port::spin_limit()).
SpinBudget::Duration spin_limit();

}  // namespace evq::port::detail
