// CpuMeter (load.hpp): the server thread's CPU time, the part of it spent in the kernel, and the
// load thread's CPU time. The kernel share is what tells a reader how much any event API can save:
// the TCP work of a loopback round trip is the same under epoll, io_uring or Asio.
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <cstdlib>
#include <string>

#include "load.hpp"
#include "load_stats.hpp"

namespace evq::completion::bench {
namespace {

// A thread's utime + stime and its stime, in clock ticks, from /proc/self/task/TID/stat (fields
// 14 and 15, counted after the command name, which is in parentheses and may hold spaces).
bool thread_ticks(pid_t tid, double& total, double& system) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return false;
  std::size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) return false;
  std::istringstream rest(line.substr(close + 2));  // from field 3, the state
  std::string field;
  double utime = -1, stime = -1;
  for (int n = 3; n <= 15 && rest >> field; ++n) {
    if (n == 14) utime = std::strtod(field.c_str(), nullptr);
    if (n == 15) stime = std::strtod(field.c_str(), nullptr);
  }
  if (utime < 0 || stime < 0) return false;
  total = utime + stime;
  system = stime;
  return true;
}

}  // namespace

CpuMeter::Sample CpuMeter::now() const {
  Sample s;
  s.server = thread_cpu_seconds(server_clock);
  s.load = thread_cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  if (server_tid > 0 && !thread_ticks(server_tid, s.ticks_total, s.ticks_system))
    s.ticks_total = s.ticks_system = -1;
  return s;
}

}  // namespace evq::completion::bench
