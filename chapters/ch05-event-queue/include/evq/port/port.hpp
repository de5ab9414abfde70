// evq::port::Port — a completion port in user space, with the semantics of a Windows I/O completion
// port (Microsoft's "I/O Completion Ports", [MS-IOCP] in notes/references.md):
//
//  - packets are queued FIFO; post() and I/O completions make the same packets;
//  - waiting threads are released LIFO, and the packet is handed directly to the released thread;
//  - the concurrency value caps the *running* threads: a thread runs from get()'s return until it
//    calls get() again; while the cap is reached no waiter is released and packets stay queued, and
//    a thread that comes back to get() takes a queued packet without blocking;
//  - a thread is associated with one port at a time; a get() on another port moves it there;
//  - a BlockingScope tells the port "this thread is about to block elsewhere", the one thing the
//    Windows kernel sees and user space does not (see blocking_scope.hpp);
//  - close() releases every waiter with Wait::closed and drops the queued packets.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "evq/port/packet.hpp"

namespace evq::port {

class Trace;
namespace detail {
class Core;
}

using Timeout = std::optional<std::chrono::milliseconds>;  // nullopt waits for ever; 0ms only looks
inline constexpr Timeout kForever = std::nullopt;

// The concurrency a port gets for 0: the number of CPUs (never less than 1).
unsigned cpu_count();

// The most a thread about to sleep in get() may first spin, watching for its packet, in this
// process (default 50 us; zero: never spin). Below it, a thread spins about as long as a sleep and
// wake-up cost on this machine (measured as the port runs), and only while spinning pays off
// (src/spin_budget.hpp); the benchmark's spin curve moves this cap. Negative values count as zero.
void set_spin_limit(std::chrono::nanoseconds limit);
std::chrono::nanoseconds spin_limit();
// What the port has measured so far: the cost of a wake-up (from unpark to the woken thread
// running), and the spin limit that follows from it and the cap. For benchmarks and demos.
std::chrono::nanoseconds measured_wake_cost();
std::chrono::nanoseconds current_spin_limit();

class Port {
 public:
  // CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, concurrency): 0 means cpu_count().
  explicit Port(unsigned concurrency = 0);
  // Closes the port (releasing any waiter). Threads still associated keep only a reference to the
  // port's shared state, which lives until the last of them calls get() elsewhere or exits.
  ~Port();
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  unsigned concurrency() const;

  // PostQueuedCompletionStatus: queue a packet, or hand it straight to the most recent waiter when
  // fewer than concurrency() threads are running. Returns false (and queues nothing) once closed.
  bool post(const Packet& packet);
  bool post(std::uint64_t key, std::uint32_t bytes = 0, std::uint64_t user = 0) {
    return post(Packet{key, bytes, user, {}});
  }

  // GetQueuedCompletionStatus: the oldest packet, waiting up to `timeout` for one.
  GetResult get(Timeout timeout = kForever);

  // GetQueuedCompletionStatusEx: as one thread, wait until at least one packet is there, then take
  // up to out.size() of them at once. Returns how many were written to `out` (0 unless status is
  // Wait::packet).
  struct ManyResult {
    Wait status = Wait::timeout;
    std::size_t count = 0;
  };
  ManyResult get_many(std::span<Packet> out, Timeout timeout = kForever);

  // For a thread with other work to do between packets (ThreadPool's turn at a chapter 4 queue):
  // the oldest packet, if the port holds one and the cap lets this thread run with it, taken as a
  // get() would take it, without waiting. Unlike get(0), a look that takes nothing changes nothing:
  // get(0) counts the thread as running when it comes back empty, take_queued() leaves a thread
  // that was not running not running (so it holds no place under the cap while it does that other
  // work). No Win32 call does this; GetQueuedCompletionStatus(port, 0) is the nearest.
  enum class Queued {
    taken,   // `out` holds the packet; the thread counts as running
    none,    // the port holds no packet
    capped,  // it holds some, but other threads run at the concurrency value: get() would wait
    closed,  // the port is closed (which ends this thread's association, as get() does)
  };
  Queued take_queued(Packet& out);

  // CloseHandle(port): every waiter returns Wait::closed, later calls return Wait::closed at once,
  // post() returns false. Returns how many queued packets were dropped (packets own nothing, so
  // dropping one frees nothing). Idempotent.
  std::size_t close();
  bool closed() const;

  // A snapshot of the port's bookkeeping, for tests and narrated demos.
  struct Counters {
    unsigned running = 0;     // associated threads between get()'s return and their next get()
    std::size_t waiting = 0;  // threads parked in get()
    std::size_t queued = 0;   // packets waiting for a thread
    bool closed = false;
  };
  Counters counters() const;

  // Record waits, releases, packets and posts into `trace` (nullptr stops). The trace must outlive
  // the recording.
  void set_trace(Trace* trace);
  Trace* trace() const;

  // Whether the calling thread is associated with this port right now (it called get() here last).
  bool is_associated() const;

 private:
  std::shared_ptr<detail::Core> core_;
};

}  // namespace evq::port
