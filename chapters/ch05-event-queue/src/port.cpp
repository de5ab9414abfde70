#include "evq/port/port.hpp"

#include "evq/common/timeout.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <thread>

#ifdef _WIN32
#include <windows.h>
#endif

#include "association.hpp"
#include "core.hpp"

namespace evq::port {

using detail::Association;
using detail::Chosen;
using detail::Core;
using detail::Waiter;
using Kind = Trace::Kind;

std::string to_string(Wait status) {
  switch (status) {
    case Wait::packet:
      return "packet";
    case Wait::timeout:
      return "timeout";
    case Wait::closed:
      return "closed";
  }
  return "?";
}

unsigned cpu_count() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;  // "may return 0 if not computable": one CPU is the safe guess
}

namespace {
std::atomic<std::int64_t> g_spin_limit_ns{detail::SpinBudget::kDefaultCap.count()};
std::atomic<std::int64_t> g_wake_cost_ns{detail::SpinBudget::kFirstWakeCost.count()};
}  // namespace

void set_spin_limit(std::chrono::nanoseconds limit) {
  g_spin_limit_ns.store(std::max<std::int64_t>(limit.count(), 0), std::memory_order_relaxed);
}
std::chrono::nanoseconds spin_limit() {
  return std::chrono::nanoseconds(g_spin_limit_ns.load(std::memory_order_relaxed));
}

namespace detail {

SpinBudget::Duration wake_cost() {
  return SpinBudget::Duration(g_wake_cost_ns.load(std::memory_order_relaxed));
}
void note_wake_cost(SpinBudget::Duration measured) {
  // A moving average over about eight wakes. A preempted thread measures its time off the CPU, not a
  // wake, so a sample is capped at 1 ms. Two threads updating at once may lose one sample: harmless.
  const std::int64_t sample = std::min<std::int64_t>(std::max<std::int64_t>(measured.count(), 0), 1'000'000);
  const std::int64_t old = g_wake_cost_ns.load(std::memory_order_relaxed);
  g_wake_cost_ns.store(old + (sample - old) / 8, std::memory_order_relaxed);
}
SpinBudget::Duration spin_limit() {
  return SpinBudget::limit_for(wake_cost(), port::spin_limit());
}
}  // namespace detail

std::chrono::nanoseconds measured_wake_cost() {
  return detail::wake_cost();
}
std::chrono::nanoseconds current_spin_limit() {
  return detail::spin_limit();
}

namespace detail {

#ifdef _WIN32
// mingw-w64's thread_local destructors can run after the thread's emulated TLS was freed (seen as
// crashes under Wine), so on Windows the association is a heap object in a fiber-local slot, whose
// callback Windows runs at thread exit with the pointer itself.
void WINAPI release_association(void* p) {
  delete static_cast<Association*>(p);
}

Association& this_thread_association() {
  static const DWORD slot = ::FlsAlloc(&release_association);
  auto* association = static_cast<Association*>(::FlsGetValue(slot));
  if (!association) {
    association = new Association;
    ::FlsSetValue(slot, association);
  }
  return *association;
}
#else
Association& this_thread_association() {
  thread_local Association association;
  return association;
}
#endif

// [snippet leave]
void Association::leave() {
  if (!core) return;
  Chosen chosen;
  {
    std::lock_guard lock(core->state_lock);
    if (running) {
      --core->running;  // one fewer running thread: a waiter may take a queued packet now
      running = false;
      core->settle_locked(chosen);
      core->note_counters_locked();
    }
  }
  chosen.unpark_all();
  core.reset();
}
// [/snippet leave]

}  // namespace detail

Port::Port(unsigned concurrency)
    : core_(std::make_shared<Core>(concurrency == 0 ? cpu_count() : concurrency)) {}

Port::~Port() {
  close();
  // Threads still associated keep the shared state alive; they must not record into a trace that
  // was lent to this Port object only.
  core_->trace.store(nullptr, std::memory_order_release);
}

unsigned Port::concurrency() const {
  return core_->concurrency;
}

// [snippet post]
bool Port::post(const Packet& packet) {
  Core& c = *core_;
  Trace* t = c.tracer();
  if (!t) {  // (a traced port takes the locked path, so that the trace sees every post in order)
    if (!c.add_to_inbox(packet)) return false;  // closed
    // Nobody can be released (the cap is reached, or nobody waits): a running thread's next get()
    // takes the packet. This is the common case under load, and it never touches `state_lock`.
    if (!c.release_possible.load()) return true;
  }
  Chosen chosen;
  {
    std::lock_guard lock(c.state_lock);
    if (t) {
      if (!c.add_to_inbox(packet)) return false;
      t->record(Kind::posted, packet.key);
    }
    c.settle_locked(chosen);  // the most recent waiter gets the oldest packet, unless the cap is reached
    c.note_counters_locked();
  }
  chosen.unpark_all();  // wake exactly the threads that were chosen
  return true;
}
// [/snippet post]

GetResult Port::get(Timeout timeout) {
  GetResult result;
  ManyResult many = get_many(std::span<Packet>(&result.packet, 1), timeout);
  result.status = many.status;
  return result;
}

// [snippet get-take hide=traced]
Port::ManyResult Port::get_many(std::span<Packet> out, Timeout timeout) {
  if (out.empty()) throw std::invalid_argument("Port::get_many: no room for a packet");
  Association& self = detail::this_thread_association();
  if (self.core != core_) {
    self.leave();  // a thread is associated with one port at a time: get() here moves it
    self.core = core_;
  }
  Core& c = *self.core;  // (not *this: a close() from another thread may destroy the Port)
  std::unique_lock lock(c.state_lock);
  c.traced(Kind::get_called);
  if (self.running) {
    --c.running;  // back in get(): this thread no longer counts as running
    self.running = false;
  }
  if (c.closed) {
    c.traced(Kind::closed);
    lock.unlock();
    self.core.reset();  // closing the port ends the association
    return {Wait::closed, 0};
  }
  if (c.queue.empty()) c.drain_inbox_locked();  // what post() left in its inbox
  if (!c.queue.empty() && c.running < c.concurrency) {
    // A thread that comes back while packets are queued takes one without blocking.
    std::size_t n = c.take_locked(out);
    ++c.running;
    self.running = true;
    c.traced_locked(Kind::got, out[0].key);
    return {Wait::packet, n};
  }
  if (timeout && timeout->count() <= 0) {
    ++c.running;  // a get() that only looked returns to a running thread
    self.running = true;
    c.traced(Kind::timed_out);
    return {Wait::timeout, 0};
  }
  // [/snippet get-take]

  // [snippet get-park hide=traced]
  Waiter me(self.parker);
  me.out = out;
  c.waiters.push_back(&me);  // on top of the stack: the next packet is ours
  c.traced_locked(Kind::parked);
  Chosen chosen;
  c.settle_locked(chosen);  // tells post() that a release is possible now (it may even be ours)
  lock.unlock();
  chosen.unpark_all();  // if we chose ourselves, the park below returns at once

  // Saturating: get(milliseconds::max()) waits for ever instead of overflowing into the past.
  auto deadline = timeout ? deadline_after<detail::Parker::Clock>(detail::Parker::Clock::now(), *timeout)
                          : detail::Parker::Clock::time_point::max();
  if (!me.parker.park_until(deadline)) {
    lock.lock();
    if (!me.handed) {
      std::erase(c.waiters, &me);
      ++c.running;  // the timed-out thread runs again
      self.running = true;
      // (release_possible may now be true for nothing: the next post() then settles once, in vain)
      c.traced(Kind::woken);
      c.traced_locked(Kind::timed_out);
      return {Wait::timeout, 0};
    }
    // Chosen just as the deadline passed: the packet is ours, its unpark() is on its way.
    lock.unlock();
    me.parker.park_until(detail::Parker::Clock::time_point::max());
  }
  c.traced(Kind::woken);
  if (me.status == Wait::closed) {
    c.traced(Kind::closed);
    self.core.reset();
    return {Wait::closed, 0};
  }
  self.running = true;  // the thread that chose us counted us as running already
  c.traced(Kind::got, out[0].key);
  return {Wait::packet, me.count};
}
// [/snippet get-park]

// [snippet take-queued hide=traced]
Port::Queued Port::take_queued(Packet& out) {
  Association& self = detail::this_thread_association();
  if (self.core != core_) {
    self.leave();  // as in get(): one port at a time
    self.core = core_;
  }
  Core& c = *self.core;
  std::unique_lock lock(c.state_lock);
  if (c.closed) {
    if (self.running) {  // as get() does: a thread leaving a closed port no longer runs for it
      --c.running;
      self.running = false;
    }
    lock.unlock();
    self.core.reset();  // closing the port ends the association
    return Queued::closed;
  }
  if (c.queue.empty()) c.drain_inbox_locked();
  if (c.queue.empty()) return Queued::none;  // nothing changed: not even a get_called in the trace
  // The cap as get() would see it: this thread, back at the port, does not count while it asks.
  const unsigned others = c.running - (self.running ? 1 : 0);
  if (others >= c.concurrency) return Queued::capped;
  c.take_locked(std::span<Packet>(&out, 1));
  if (!self.running) {
    ++c.running;  // it runs with the packet now, as a thread that get() returned to does
    self.running = true;
  }
  c.traced(Kind::get_called);
  c.traced_locked(Kind::got, out.key);
  return Queued::taken;
}
// [/snippet take-queued]

// [snippet close]
std::size_t Port::close() {
  Core& c = *core_;
  Chosen released;
  std::size_t dropped = 0;
  {
    std::lock_guard lock(c.state_lock);
    if (c.closed) return 0;
    c.closed = true;
    c.release_possible.store(false);
    {
      std::lock_guard in(c.inbox_lock);
      c.inbox_closed = true;  // post() fails from here on, even on its fast path
      dropped = c.inbox.size();
      std::vector<Packet>().swap(c.inbox);
    }
    dropped += c.queue.drop_all();  // packets own nothing: dropping them frees only the buffers
    for (Waiter* w : c.waiters) {
      w->status = Wait::closed;
      w->count = 0;
      w->handed = true;
      released.add(w);
    }
    c.waiters.clear();
    c.note_counters_locked();
  }
  released.unpark_all();
  return dropped;
}
// [/snippet close]

bool Port::closed() const {
  std::lock_guard lock(core_->state_lock);
  return core_->closed;
}

Port::Counters Port::counters() const {
  std::lock_guard lock(core_->state_lock);
  std::lock_guard in(core_->inbox_lock);
  return {core_->running, core_->waiters.size(), core_->queue.size() + core_->inbox.size(), core_->closed};
}

void Port::set_trace(Trace* trace) {
  core_->trace.store(trace, std::memory_order_release);
}
Trace* Port::trace() const {
  return core_->tracer();
}

bool Port::is_associated() const {
  return detail::this_thread_association().core == core_;
}

}  // namespace evq::port
