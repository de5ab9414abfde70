// The hostile suite's main: doctest's options first, then the server to attack, as ctest passes it:
//
//   hostile-tests [doctest options] --name "ch02 echo_level" --cap 16384 [--wine] [--needs io_uring]
//                 --server PROGRAM ARGS...
//
// Everything after --server is the server's command line. Listing the cases needs no server.
// --needs io_uring: where the kernel refuses io_uring (the kernel.io_uring_disabled sysctl, or a
// container's seccomp filter), the case cannot attack the server; it checks that the server
// refuses to start as a reader would want (ends by itself, status not 0, names io_uring) and exits
// 77, which ctest reports as skipped (SKIP_RETURN_CODE), never as passed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <fmt/core.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "server_process.hpp"

namespace {

// Why this process may not set up an io_uring, or "" if it may (asked of the kernel directly).
std::string io_uring_refused() {
  io_uring_params params{};
  const long fd = ::syscall(__NR_io_uring_setup, 4, &params);
  if (fd < 0) return std::strerror(errno);
  ::close(static_cast<int>(fd));
  return "";
}

// Runs the server once where io_uring is refused. Returns 77 (skipped) if it refused to start as
// it should, 1 (failed) if it crashed, hung, started anyway or did not say why.
int check_refusal(const evq::hostile::ServerSpec& spec, const std::string& why) {
  int out[2];
  if (::pipe(out) != 0) return 1;
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string said;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {  // everything it prints, until it closes its output or 30 s pass
    pollfd p{out[0], POLLIN, 0};
    if (std::chrono::steady_clock::now() > deadline || ::poll(&p, 1, 100) < 0) break;
    if (p.revents == 0) continue;
    char chunk[512];
    const ssize_t n = ::read(out[0], chunk, sizeof chunk);
    if (n <= 0) break;
    said.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  bool ended = false;
  for (int i = 0; i < 100 && !(ended = ::waitpid(pid, &status, WNOHANG) == pid); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!ended) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  const bool clean =
      ended && WIFEXITED(status) && WEXITSTATUS(status) != 0 && said.find("io_uring") != std::string::npos;
  fmt::print("{}: io_uring is refused on this machine ({}), so the attack cannot run.\n", spec.name, why);
  if (clean) {
    fmt::print("It refused to start as it should: exit status {}, and it said:\n{}SKIPPED (exit 77)\n",
               WEXITSTATUS(status), said);
    return 77;
  }
  const std::string how = !ended                ? "was still running after 30 s"
                          : WIFSIGNALED(status) ? fmt::format("was killed by signal {}", WTERMSIG(status))
                                                : fmt::format("exited with status {}", WEXITSTATUS(status));
  fmt::print(
      "FAILED: it should end by itself with a status other than 0 and name io_uring; it {}, and said:\n{}\n",
      how, said);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a write to a server that reset us must fail, not kill the test
  evq::hostile::ServerSpec spec;
  std::vector<char*> doctest_args;
  std::string needs;  // what the machine must allow for the server to run at all
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--server") {
      for (++i; i < argc; ++i) spec.argv.emplace_back(argv[i]);
      break;
    }
    if (a == "--name" && i + 1 < argc)
      spec.name = argv[++i];
    else if (a == "--cap" && i + 1 < argc)
      spec.cap_bytes = std::stoull(argv[++i]);
    else if (a == "--wine")
      spec.wine = true;
    else if (a == "--needs" && i + 1 < argc)
      needs = argv[++i];
    else
      doctest_args.push_back(argv[i]);
  }
  if (!needs.empty() && needs != "io_uring") {
    fmt::print(stderr, "hostile-tests: --needs knows only io_uring, not '{}'\n", needs);
    return 2;
  }
  if (needs == "io_uring" && !spec.argv.empty()) {
    if (const std::string why = io_uring_refused(); !why.empty()) return check_refusal(spec, why);
  }
  evq::hostile::set_spec(std::move(spec));
  doctest::Context context(static_cast<int>(doctest_args.size()), doctest_args.data());
  return context.run();
}
