// What every `--serve` demo does alike, so a reader, a script or the hostile-client suite can
// drive any server in the book the same way:
//
//   serving on 127.0.0.1 port 40123 for 30 s (Ctrl-C or SIGTERM stops): try  nc -N 127.0.0.1 40123
//   ...
//   summary: accepted 3, closed 3, bytes 120, errors 0
//
// The port line is flushed at once (a pipe would otherwise hold it until exit), and StopSignal
// turns SIGINT and SIGTERM (Ctrl-C and Ctrl-Break on Windows) into an orderly stop, also when a
// script started the program with SIGINT ignored, as a shell does for a background job.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <string>
#include <thread>

#include "evq/common/cli.hpp"

namespace evq {

struct ServeSummary {
  std::uint64_t accepted = 0;
  std::uint64_t closed = 0;
  std::uint64_t bytes = 0;   // echoed back
  std::uint64_t errors = 0;  // connections that ended in an error (a reset, ...) rather than a close
};

// "summary: accepted 3, closed 3, bytes 120, errors 0"
std::string summary_line(const ServeSummary& s);
// Prints summary_line() and flushes.
void print_summary(const ServeSummary& s);
// Prints the port line and flushes. `ipv6`: the server listens on ::1 instead of 127.0.0.1.
void print_serving(bool ipv6, std::uint16_t port, long long seconds);

// The options every echo demo shares, declared once so that they read the same everywhere:
// --serve, --seconds, --ipv6 and --quiet.
void add_serve_options(Cli& cli);

// Installs handlers for SIGINT and SIGTERM on construction (one object per program, made before
// the server starts) and puts the previous ones back on destruction.
class StopSignal {
 public:
  StopSignal();
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // Blocks until a stop signal arrives, interrupt() is called, or `limit` passes. Returns "SIGINT",
  // "SIGTERM" (or "Ctrl-C", "Ctrl-Break", "close" on Windows), "the server stopped" or "time is up".
  std::string wait(std::chrono::milliseconds limit);
  // Ends wait() from ordinary code: the server's own thread calls it when the server stopped by
  // itself (an error), so the program does not sit waiting for a signal that will never come.
  void interrupt();
};

// The --serve shape of a server that has a run() loop and a thread-safe stop(): run() goes on a
// thread of its own; this thread prints the port line once that thread exists, and waits for
// Ctrl-C, SIGTERM or `seconds`; then stop(), join. If run() ends by itself with an exception, the
// wait ends too and the exception is rethrown here. Returns why it stopped ("SIGINT", ...).
template <typename Run, typename Stop>
std::string serve_on_thread(bool ipv6, std::uint16_t port, long long seconds, Run run, Stop stop) {
  StopSignal stop_signal;
  std::exception_ptr failure;
  std::thread loop([&] {
    try {
      run();
    } catch (...) {
      failure = std::current_exception();
    }
    stop_signal.interrupt();
  });
  print_serving(ipv6, port, seconds);
  std::string why = stop_signal.wait(std::chrono::seconds(seconds));
  stop();
  loop.join();
  if (failure) std::rethrow_exception(failure);
  return why;
}

}  // namespace evq
