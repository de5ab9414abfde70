// The benchmark's load: N loopback connections in ping-pong, each with one small message in flight,
// driven by one thread over raw epoll. Every echo is checked byte for byte.
#pragma once

#include <time.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace evq::completion::bench {

struct LoadResult {
  std::uint64_t round_trips = 0;               // echoes received and verified in the measured window
  double seconds = 0;                          // the measured window
  double server_cpu_seconds = 0;               // CPU time the server thread used in that window (-1: unknown)
  double p50_us = 0, p99_us = 0, p999_us = 0;  // a round trip's latency: send to the whole echo back
  std::string error;                           // empty when every echo matched
};

// Connects `connections` clients to 127.0.0.1:port, warms up for `warmup`, then counts round trips
// for `duration`. `server_clock` (pthread_getcpuclockid of the server's thread) is read at the start
// and end of the measured window: CPU time per round trip is a steadier figure than round trips per
// second on a machine shared with other work. Each measured round trip's latency (from the send to
// the last byte of its echo) gives the percentiles. Closes every connection before returning.
LoadResult run_load(std::uint16_t port, int connections, std::size_t message_size,
                    std::chrono::duration<double> warmup, std::chrono::duration<double> duration,
                    clockid_t server_clock);

}  // namespace evq::completion::bench
