// An event trace a port can record: which thread waited, was released, got which packet, and when;
// plus the port's counters (running, waiting, queued) after every change. Written as Chrome trace
// JSON, which https://ui.perfetto.dev (and chrome://tracing) open: one row per thread, a "waiting"
// bar while it is parked in get(), a "key N" bar while it runs a packet, and counter tracks that
// show the concurrency cap holding.
//
//   evq::port::Trace trace;
//   port.set_trace(&trace);
//   ... run the workers ...
//   trace.write_chrome_json("port-trace.json");
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace evq::port {

class Trace {
 public:
  enum class Kind {
    get_called,   // the thread entered get(): its previous packet is finished
    parked,       // it found nothing it may take and waits
    woken,        // it was released from its wait (with a packet, or by close)
    got,          // get() returns `key` to it
    timed_out,    // get() returns Wait::timeout
    closed,       // get() returns Wait::closed
    posted,       // this thread posted `key`
    scope_enter,  // BlockingScope begins
    scope_exit,   // BlockingScope ends
    counters,     // the port's counters after a change (running, waiting, queued)
  };
  struct Event {
    std::int64_t ts_ns = 0;  // since the trace was created
    int thread = 0;          // small id, in order of first appearance
    Kind kind = Kind::got;
    std::uint64_t key = 0;
    unsigned running = 0;
    std::size_t waiting = 0, queued = 0;
  };

  Trace();

  // Records an event for the calling thread.
  void record(Kind kind, std::uint64_t key = 0);
  void record_counters(unsigned running, std::size_t waiting, std::size_t queued);
  // The calling thread's label in the trace ("worker 3"); otherwise "thread N".
  void name_thread(std::string name);

  std::vector<Event> events() const;
  // The events of one kind, in order, as (thread, key) pairs: what tests look at.
  std::vector<std::pair<int, std::uint64_t>> of_kind(Kind kind) const;
  // The id the calling thread has (or gets) in this trace.
  int thread_id();

  std::string chrome_json() const;
  // The same story as text, one row per thread over `columns` slices of time:
  //   '#' running a packet   '.' parked in get()   'b' inside a BlockingScope   ' ' elsewhere
  // plus a row with the port's running count in each slice (its highest value there).
  std::string ascii_timeline(int columns = 72) const;
  // Writes chrome_json() to `path`; throws std::system_error if it cannot.
  void write_chrome_json(const std::string& path) const;

 private:
  int thread_id_locked();

  mutable std::mutex mutex_;
  std::chrono::steady_clock::time_point start_;
  std::vector<Event> events_;
  std::unordered_map<std::thread::id, int> ids_;
  std::unordered_map<int, std::string> names_;
};

std::string to_string(Trace::Kind kind);

}  // namespace evq::port
