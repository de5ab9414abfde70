#include "evq/port/blocking_scope.hpp"

#include "association.hpp"

namespace evq::port {

using Kind = Trace::Kind;

// [snippet blocking-scope]
BlockingScope::BlockingScope() {
  detail::Association& self = detail::this_thread_association();
  if (!self.core || !self.running) return;  // not running for any port (or an outer scope counted)
  detail::Core& c = *self.core;
  detail::Chosen chosen;
  {
    std::lock_guard lock(c.state_lock);
    if (c.closed) return;
    --c.running;  // what the kernel does when a running thread blocks in another wait
    self.running = false;
    c.settle_locked(chosen);  // a waiter may take a queued packet now
    c.traced_locked(Kind::scope_enter);
  }
  chosen.unpark_all();
  core_ = self.core;
}

BlockingScope::~BlockingScope() {
  if (!core_) return;
  detail::Association& self = detail::this_thread_association();
  if (self.core != core_ || self.running) return;  // moved to another port inside the scope
  std::lock_guard lock(core_->state_lock);
  if (core_->closed) return;
  ++core_->running;  // back to running even above the cap: the overshoot IOCP allows for
  self.running = true;
  core_->traced_locked(Kind::scope_exit);
}
// [/snippet blocking-scope]

}  // namespace evq::port
