// A server under attack, started the way a reader starts it: a separate process, from its own
// command line, found by the port line it prints. The harness measures it only from outside,
// through /proc (descriptors, memory, CPU time), so what it sees is what `ls /proc/PID/fd` or
// `top` would show a reader.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "evq/common/net.hpp"

namespace evq::hostile {

// What the ctest registration says about the server (see tests/hostile/CMakeLists.txt).
struct ServerSpec {
  std::string name;               // "ch02 echo_level"
  std::vector<std::string> argv;  // the program and its --serve arguments
  std::size_t cap_bytes = 0;      // the per-connection buffer cap the server states
  bool wine = false;              // a Windows program under Wine: no /proc figures of its own
};

// The spec this run attacks (parsed from the command line by main.cpp).
const ServerSpec& spec();
void set_spec(ServerSpec s);

class ServerProcess {
 public:
  struct Options {
    std::optional<unsigned long> nofile = {};  // RLIMIT_NOFILE for the server, set between fork and exec
    std::vector<std::string> extra_args = {};  // e.g. --ipv6
    // Start it as a shell script starts a background job (`server &`): SIGINT and SIGQUIT ignored.
    // A server must install its own handler to stop on SIGINT then.
    bool as_background_job = false;
  };
  // Starts the server and waits (bounded) for its port line; throws with its output if none comes.
  explicit ServerProcess(const ServerSpec& spec, Options options);
  ServerProcess(const ServerSpec& spec) : ServerProcess(spec, Options{}) {}
  ~ServerProcess();  // SIGKILL if it still runs, then reaps it
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::uint16_t port() const { return port_; }
  Family family() const { return family_; }
  pid_t pid() const { return pid_; }
  // The process whose descriptors and memory are the server's: the program itself, or under Wine
  // the Windows process that Wine started for it. nullopt if it cannot be found.
  std::optional<pid_t> measured_pid() const;

  // /proc figures of measured_pid(); nullopt where they cannot be read.
  std::optional<int> fd_count() const;                // under Wine: its sockets only (see server_process.cpp)
  std::optional<std::size_t> rss_bytes() const;       // VmRSS: resident now
  std::optional<std::size_t> peak_rss_bytes() const;  // VmHWM: the most it was ever resident
  std::optional<double> cpu_seconds() const;          // utime + stime

  void send_signal(int sig) const;
  // The exit status once it has exited (128 + signal if a signal ended it), or nullopt if it still
  // runs when `timeout` passes.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // Everything it printed so far (stdout and stderr together).
  std::string output() const;
  // Waits until its output matches `pattern` (ECMAScript); true if it did within `timeout`.
  bool wait_for_output(const std::string& pattern, std::chrono::milliseconds timeout) const;

 private:
  void read_output(int fd);
  void finish_reading();
  void stop();  // SIGKILL if it still runs, reap it, stop reading its output

  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  std::uint16_t port_ = 0;
  Family family_ = Family::v4;
  bool wine_ = false;
  std::string program_name_;
  std::thread reader_;
  std::atomic<bool> stop_reading_{false};
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::string output_;
  bool output_closed_ = false;
};

}  // namespace evq::hostile
