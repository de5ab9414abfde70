// The benchmark's load: N loopback connections in ping-pong, each with one small message in flight,
// driven by one thread, over raw epoll (load.cpp) or io_uring (load_uring.cpp). Every echo is
// checked byte for byte.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace evq::completion::bench {

// Where the CPU time goes, read at both ends of the measured window: the server thread's CPU
// clock (pthread_getcpuclockid), its kernel share (/proc/self/task/TID/stat, in clock ticks), and
// the load's own thread.
struct CpuMeter {
  clockid_t server_clock;
  pid_t server_tid;  // 0: unknown, no kernel share
  struct Sample {
    double server = -1, load = -1;               // CPU clocks, seconds; -1: cannot be read here
    double ticks_total = -1, ticks_system = -1;  // the server's user+system and system clock ticks
  };
  Sample now() const;
};

struct LoadResult {
  std::uint64_t round_trips = 0;               // echoes received and verified in the measured window
  double seconds = 0;                          // the measured window
  double server_cpu_seconds = 0;               // CPU time the server thread used in that window (-1: unknown)
  double server_system_seconds = -1;           // the part of it spent in the kernel (-1: unknown)
  double load_cpu_seconds = -1;                // CPU time the load's thread used (-1: unknown)
  double p50_us = 0, p99_us = 0, p999_us = 0;  // a round trip's latency: send to the whole echo back
  std::string error;                           // empty when every echo matched
};

// Connects `connections` clients to 127.0.0.1:port, warms up for `warmup`, then counts round trips
// for `duration`. `cpu` is read at the start and end of the measured window: CPU time per round
// trip is a steadier figure than round trips per second on a machine shared with other work. Each measured round trip's latency (from the send to
// the last byte of its echo) gives the percentiles. Closes every connection before returning.
LoadResult run_load(std::uint16_t port, int connections, std::size_t message_size,
                    std::chrono::duration<double> warmup, std::chrono::duration<double> duration,
                    const CpuMeter& cpu);

// The same load, its sends and receives queued to io_uring and submitted once per loop turn, so
// the load costs less CPU than the servers it measures. Built only with liburing.
LoadResult run_load_uring(std::uint16_t port, int connections, std::size_t message_size,
                          std::chrono::duration<double> warmup, std::chrono::duration<double> duration,
                          const CpuMeter& cpu);
// Empty when the io_uring load can run here, else why not.
std::string uring_load_unavailable();

}  // namespace evq::completion::bench
