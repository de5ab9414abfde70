#include "evq/common/serve.hpp"

#include <fmt/core.h>

#include <cstdio>
#include <stdexcept>

#include "evq/common/timeout.hpp"

#ifdef _WIN32
#include "evq/common/win32.hpp"
#else
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "evq/common/error.hpp"
#endif

namespace evq {

std::string summary_line(const ServeSummary& s) {
  return fmt::format("summary: accepted {}, closed {}, bytes {}, errors {}", s.accepted, s.closed, s.bytes,
                     s.errors);
}

void print_summary(const ServeSummary& s) {
  fmt::print("{}\n", summary_line(s));
  std::fflush(stdout);
}

void print_serving(bool ipv6, std::uint16_t port, long long seconds) {
  const char* address = ipv6 ? "::1" : "127.0.0.1";
  fmt::print("serving on {} port {} for {} s (Ctrl-C or SIGTERM stops): try  nc -N {} {}\n", address, port,
             seconds, address, port);
  std::fflush(stdout);
}

#ifndef _WIN32
// The self-pipe trick: the handler may only make async-signal-safe calls, and write() is one. The
// waiting thread sleeps in poll() on the read end, so it wakes at once and costs nothing meanwhile.
namespace {
int stop_pipe[2] = {-1, -1};
struct sigaction previous_int, previous_term;

void on_stop_signal(int sig) {
  int saved = errno;  // a handler must leave errno as it found it
  char byte = static_cast<char>(sig);
  [[maybe_unused]] ssize_t n = ::write(stop_pipe[1], &byte, 1);
  errno = saved;
}
}  // namespace

StopSignal::StopSignal() {
  if (stop_pipe[0] >= 0) throw std::logic_error("StopSignal: one per program");
  check(::pipe(stop_pipe), "pipe");
  for (int fd : stop_pipe) {
    check(::fcntl(fd, F_SETFD, FD_CLOEXEC), "fcntl(F_SETFD, FD_CLOEXEC)");
    check(::fcntl(fd, F_SETFL, O_NONBLOCK), "fcntl(F_SETFL, O_NONBLOCK)");
  }
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // the server's own syscalls carry on; only the pipe reports it
  check(::sigaction(SIGINT, &action, &previous_int), "sigaction(SIGINT)");
  check(::sigaction(SIGTERM, &action, &previous_term), "sigaction(SIGTERM)");
}

StopSignal::~StopSignal() {
  ::sigaction(SIGINT, &previous_int, nullptr);
  ::sigaction(SIGTERM, &previous_term, nullptr);
  for (int& fd : stop_pipe) {
    ::close(fd);  // the pipe is this class's own; UniqueFd would not outlive a signal handler
    fd = -1;
  }
}

std::string StopSignal::wait(std::chrono::milliseconds limit) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = deadline_after<Clock>(Clock::now(), limit);
  for (;;) {
    char byte = 0;
    if (::read(stop_pipe[0], &byte, 1) == 1)
      return byte == SIGINT ? "SIGINT" : byte == SIGTERM ? "SIGTERM" : "the server stopped";
    const auto now = Clock::now();
    if (now >= deadline) return "time is up";
    pollfd p{stop_pipe[0], POLLIN, 0};
    int rc = ::poll(&p, 1, poll_timeout_ms(std::chrono::ceil<std::chrono::milliseconds>(deadline - now)));
    if (rc < 0 && errno != EINTR) throw_errno("poll(stop pipe)");
  }
}

void StopSignal::interrupt() {
  char byte = 0;
  [[maybe_unused]] ssize_t n = ::write(stop_pipe[1], &byte, 1);
}
#else
namespace {
HANDLE stop_event = nullptr;
volatile LONG stop_kind = -1;

BOOL WINAPI on_console_event(DWORD kind) {
  if (kind != CTRL_C_EVENT && kind != CTRL_BREAK_EVENT && kind != CTRL_CLOSE_EVENT) return FALSE;
  InterlockedExchange(&stop_kind, static_cast<LONG>(kind));
  SetEvent(stop_event);
  return TRUE;  // handled: the default would end the process at once
}
}  // namespace

StopSignal::StopSignal() {
  if (stop_event) throw std::logic_error("StopSignal: one per program");
  stop_event = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (!stop_event) throw_last_error("CreateEventW");
  if (!SetConsoleCtrlHandler(on_console_event, TRUE)) throw_last_error("SetConsoleCtrlHandler");
}

StopSignal::~StopSignal() {
  SetConsoleCtrlHandler(on_console_event, FALSE);
  CloseHandle(stop_event);
  stop_event = nullptr;
}

std::string StopSignal::wait(std::chrono::milliseconds limit) {
  DWORD ms = limit.count() >= static_cast<long long>(INFINITE) ? INFINITE - 1
             : limit.count() < 0                               ? 0
                                                               : static_cast<DWORD>(limit.count());
  if (WaitForSingleObject(stop_event, ms) != WAIT_OBJECT_0) return "time is up";
  switch (stop_kind) {
    case CTRL_C_EVENT:
      return "Ctrl-C";
    case CTRL_BREAK_EVENT:
      return "Ctrl-Break";
    case CTRL_CLOSE_EVENT:
      return "close";
    default:
      return "the server stopped";
  }
}

void StopSignal::interrupt() {
  InterlockedExchange(&stop_kind, -2);
  SetEvent(stop_event);
}
#endif

void add_serve_options(Cli& cli) {
  cli.flag("serve", "print the port and serve your own clients instead (nc -N 127.0.0.1 PORT)");
  cli.option("seconds", "with --serve: how long to serve (Ctrl-C or SIGTERM stops sooner)", "30");
  cli.flag("ipv6", "listen on ::1 instead of 127.0.0.1 (nc -N ::1 PORT)");
  cli.flag("quiet", "no narration: only the summary");
}

}  // namespace evq
