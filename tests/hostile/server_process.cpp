#include "server_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <fmt/core.h>

#include "evq/common/error.hpp"

namespace evq::hostile {
namespace {

ServerSpec the_spec;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<pid_t> parent_of(pid_t pid) {
  std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close + 2));
  char state = 0;
  pid_t ppid = 0;
  rest >> state >> ppid;
  return ppid;
}

bool descends_from(pid_t pid, pid_t ancestor) {
  for (int depth = 0; depth < 16 && pid > 1; ++depth) {
    if (pid == ancestor) return true;
    auto p = parent_of(pid);
    if (!p) return false;
    pid = *p;
  }
  return false;
}

}  // namespace

const ServerSpec& spec() {
  return the_spec;
}
void set_spec(ServerSpec s) {
  the_spec = std::move(s);
}

ServerProcess::ServerProcess(const ServerSpec& spec, Options options) : wine_(spec.wine) {
  if (spec.argv.empty()) throw std::invalid_argument("no server command (run through ctest)");
  std::vector<std::string> args = spec.argv;
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  const std::string exe = args.front();
  for (const std::string& a : args)  // the program's own name, to find its process under Wine
    if (a.size() > 4 && a.compare(a.size() - 4, 4, ".exe") == 0) program_name_ = a.substr(a.rfind('/') + 1);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  check(::pipe2(pipe_fds, O_CLOEXEC), "pipe2");
  pid_ = ::fork();
  if (pid_ < 0) throw_errno("fork");
  if (pid_ == 0) {    // the child: only async-signal-safe calls until exec
    ::setpgid(0, 0);  // its own process group, so a signal to it reaches Wine's processes too
    if (options.nofile) {
      rlimit lim{};
      ::getrlimit(RLIMIT_NOFILE, &lim);
      lim.rlim_cur = *options.nofile;
      ::setrlimit(RLIMIT_NOFILE, &lim);
    }
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::close_range(3, ~0U, 0);
    // Start from the defaults (a test runner may have changed them), or as a background job does.
    ::signal(SIGINT, options.as_background_job ? SIG_IGN : SIG_DFL);
    ::signal(SIGQUIT, options.as_background_job ? SIG_IGN : SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  reader_ = std::thread([this, fd = pipe_fds[0]] { read_output(fd); });

  // The port line: "serving on 127.0.0.1 port 40123 ..." (older forms said "127.0.0.1:40123").
  const std::regex port_line(R"(serving on (127\.0\.0\.1|::1)(?: port |:)(\d+))");
  std::smatch m;
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(spec.wine ? 90 : 30);
  std::unique_lock lock(mutex_);
  while (!std::regex_search(out = output_, m, port_line)) {
    if (output_closed_ || changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      std::string why = output_closed_ ? "it exited" : "none came in time";
      lock.unlock();
      stop();  // a constructor that throws runs no destructor: end the process and the reader here
      throw std::runtime_error(
          fmt::format("{}: no port line (\"serving on 127.0.0.1 port N\"); {}. "
                      "Its output:\n{}",
                      spec.name, why, output()));
    }
  }
  family_ = m[1] == "::1" ? Family::v6 : Family::v4;
  port_ = static_cast<std::uint16_t>(std::stoi(m[2]));
}

ServerProcess::~ServerProcess() {
  stop();
}

void ServerProcess::stop() {
  if (!exit_status_) {
    ::kill(-pid_, SIGKILL);  // the group: under Wine, the Windows process is a grandchild
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_status_ = 128 + SIGKILL;
  }
  finish_reading();
}

void ServerProcess::read_output(int fd) {
  char buffer[4096];
  while (!stop_reading_) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;  // a timeout or EINTR: look at stop_reading_ again
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock(mutex_);
    if (n <= 0) break;
    output_.append(buffer, static_cast<std::size_t>(n));
    changed_.notify_all();
  }
  ::close(fd);
  std::lock_guard lock(mutex_);
  output_closed_ = true;
  changed_.notify_all();
}

// The pipe closes when the server exits, unless a process it started still holds it (Wine's own
// system processes can): wait for the end of its output briefly, then stop reading regardless.
void ServerProcess::finish_reading() {
  if (!reader_.joinable()) return;
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(2), [&] { return output_closed_; });
  }
  stop_reading_ = true;
  reader_.join();
}

std::optional<pid_t> ServerProcess::measured_pid() const {
  if (!wine_) return pid_;
  if (program_name_.empty()) return std::nullopt;
  DIR* dir = ::opendir("/proc");
  if (!dir) return std::nullopt;
  std::optional<pid_t> found;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::string cmdline = read_text(fmt::format("/proc/{}/cmdline", pid));
    std::string first = cmdline.substr(0, cmdline.find('\0'));
    if (first.find(program_name_) != std::string::npos && descends_from(static_cast<pid_t>(pid), pid_)) {
      found = static_cast<pid_t>(pid);
      break;
    }
  }
  ::closedir(dir);
  return found;
}

std::optional<int> ServerProcess::fd_count() const {
  auto pid = measured_pid();
  if (!pid) return std::nullopt;
  DIR* dir = ::opendir(fmt::format("/proc/{}/fd", *pid).c_str());
  if (!dir) return std::nullopt;
  // Under Wine only sockets are counted: Wine's own threads (its thread pool grows under load and
  // keeps its threads for a while) each hold pipes and eventfds of their own, which come and go
  // without the server doing anything. What an attack can leak is a connection, and that is a socket.
  int count = 0;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    if (!wine_) {
      ++count;
      continue;
    }
    char target[64] = {};
    std::string link = fmt::format("/proc/{}/fd/{}", *pid, e->d_name);
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n > 0 && std::string_view(target, static_cast<std::size_t>(n)).substr(0, 7) == "socket:") ++count;
  }
  ::closedir(dir);
  return count;
}

namespace {
// A "Name:   1234 kB" line of /proc/PID/status, in bytes.
std::optional<std::size_t> status_kib(std::optional<pid_t> pid, std::string_view name) {
  if (!pid) return std::nullopt;
  std::istringstream status(read_text(fmt::format("/proc/{}/status", *pid)));
  for (std::string line; std::getline(status, line);)
    if (line.rfind(name, 0) == 0 && line.size() > name.size() && line[name.size()] == ':')
      return std::stoull(line.substr(name.size() + 1)) * 1024;
  return std::nullopt;
}
}  // namespace

std::optional<std::size_t> ServerProcess::rss_bytes() const {
  return status_kib(measured_pid(), "VmRSS");
}
std::optional<std::size_t> ServerProcess::peak_rss_bytes() const {
  return status_kib(measured_pid(), "VmHWM");
}

std::optional<double> ServerProcess::cpu_seconds() const {
  auto pid = measured_pid();
  if (!pid) return std::nullopt;
  std::string stat = read_text(fmt::format("/proc/{}/stat", *pid));
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // Fields 3..13 come before utime (14) and stime (15); `rest` starts at field 3.
  for (int i = 3; i <= 13; ++i) rest >> field;
  rest >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

void ServerProcess::send_signal(int sig) const {
  if (exit_status_) return;
  // Under Wine, to the Windows process itself (Wine turns SIGINT into its Ctrl-C event); the
  // wine-run script in between then exits with that process's status.
  auto target = wine_ ? measured_pid() : std::optional<pid_t>(pid_);
  ::kill(target.value_or(pid_), sig);
}

std::optional<int> ServerProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_status_) return exit_status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      finish_reading();  // everything it printed is in output_ now
      return exit_status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string ServerProcess::output() const {
  std::lock_guard lock(mutex_);
  return output_;
}

bool ServerProcess::wait_for_output(const std::string& pattern, std::chrono::milliseconds timeout) const {
  const std::regex re(pattern);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  while (!std::regex_search(output_, re)) {
    if (output_closed_ || changed_.wait_until(lock, deadline) == std::cv_status::timeout)
      return std::regex_search(output_, re);
  }
  return true;
}

}  // namespace evq::hostile
