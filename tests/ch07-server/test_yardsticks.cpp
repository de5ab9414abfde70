// The benchmark's two yardsticks (bench/bare_http_peer.cpp on epoll, bench/uring_http_peer.cpp on
// io_uring) are rows of a table the notes draw conclusions from, so they must answer correctly and
// stay up: each is started here as its own process, as bench_http.py starts it, and given
// pipelined, split and hostile clients before it is stopped with SIGTERM.
#include <doctest/doctest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "../../chapters/ch07-server/bench/peer_common.hpp"
#include "evq/common/net.hpp"
#ifdef EVQ_URING_HTTP_PEER
#include "evq/completion/uring_multishot_echo.hpp"
#endif

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A seccomp filter that makes io_uring_setup fail with EPERM and lets every other call through:
// what a container's default filter does (Docker's denies io_uring), for one child process.
struct RefuseIoUring {
  sock_filter code[4] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{4, code};
};

// A yardstick running as a child process, its stdout and stderr on one pipe.
class Yardstick {
 public:
  enum class Start { serving, refused_io_uring };

  // `serving`: starts it and waits for its port line. `refused_io_uring`: starts it under
  // RefuseIoUring and does not wait: wait() says how it ended.
  explicit Yardstick(const std::string& program, Start start = Start::serving) {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    std::string file = EVQ_CH07_WWW "/hello.txt";
    std::vector<char*> argv{const_cast<char*>(program.c_str()), const_cast<char*>("--file"), file.data(),
                            nullptr};
    RefuseIoUring refuse;  // built before fork(): the child only makes system calls, then exec
    pid_ = ::fork();
    REQUIRE_MESSAGE(pid_ >= 0, "fork: " << std::strerror(errno));
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(out[1], STDERR_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      if (start == Start::refused_io_uring &&
          (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
           ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &refuse.program) != 0))
        ::_exit(126);
      ::execv(program.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
    if (start == Start::refused_io_uring) return;
    const std::regex port_line(R"(serving on 127\.0\.0\.1 port (\d+))");
    std::smatch m;
    while (!std::regex_search(output_, m, port_line)) {
      REQUIRE_MESSAGE(
          read_some(10s),
          program << " printed no \"serving on 127.0.0.1 port N\" line in 10 s; it said: " << output_);
    }
    port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
  }
  ~Yardstick() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
  }
  std::uint16_t port() const { return port_; }

  // How it ended. (A struct, not a pair: doctest's CHECK_MESSAGE wraps its message in a lambda,
  // and clang before 16 cannot capture a structured binding.)
  struct Ended {
    int status;
    std::string said;
  };

  // SIGTERM, then the exit status and everything it printed (bounded: 10 s, then SIGKILL).
  Ended stop() {
    ::kill(pid_, SIGTERM);
    return wait();
  }

  // The exit status and everything it printed, once it ends by itself (bounded: 10 s, then SIGKILL).
  Ended wait() {
    while (read_some(10s)) {
    }
    int status = 0;
    const auto deadline = Clock::now() + 10s;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) ::kill(pid_, SIGKILL);
      std::this_thread::sleep_for(10ms);
    }
    pid_ = -1;
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), output_};
  }

 private:
  bool read_some(std::chrono::milliseconds within) {
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(within.count())) <= 0) return false;
    char chunk[512];
    const ssize_t n = ::read(out_, chunk, sizeof chunk);
    if (n <= 0) return false;
    output_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  pid_t pid_ = -1;
  int out_ = -1;
  std::uint16_t port_ = 0;
  std::string output_;
};

// Reads exactly `n` bytes, or what came before the peer closed or 10 s passed.
std::string read_up_to(int fd, std::size_t n) {
  std::string got;
  const auto deadline = Clock::now() + 10s;
  while (got.size() < n && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char chunk[4096];
    const ssize_t r = ::recv(fd, chunk, std::min(sizeof chunk, n - got.size()), 0);
    if (r <= 0) break;
    got.append(chunk, static_cast<std::size_t>(r));
  }
  return got;
}

// True if the peer closed the connection (end of stream or a reset) within 10 s.
bool closed_by_peer(int fd) {
  const auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char chunk[4096];
    const ssize_t r = ::recv(fd, chunk, sizeof chunk, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) return true;
  }
  return false;
}

std::string repeat(const std::string& s, int n) {
  std::string all;
  for (int i = 0; i < n; ++i) all += s;
  return all;
}

std::vector<std::string> yardsticks() {
  std::vector<std::string> found{EVQ_BARE_HTTP_PEER};
#ifdef EVQ_URING_HTTP_PEER
  // Chapter 4's multishot server needs what this yardstick needs (Linux 6.0, a ring the kernel
  // allows: not switched off by kernel.io_uring_disabled, not denied by a seccomp filter).
  if (const std::string why = evq::completion::UringMultishotEcho::unavailable_reason(); why.empty())
    found.push_back(EVQ_URING_HTTP_PEER);
  else
    MESSAGE("io_uring is refused here (", why, "): only the epoll yardstick is tested");
#else
  MESSAGE("uring_http_peer is not in this build (no liburing-dev): only the epoll yardstick is tested");
#endif
  return found;
}

const std::string kGet = "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";

}  // namespace

TEST_CASE("the benchmark's yardsticks answer pipelined and split requests in order, and stop on SIGTERM") {
  const std::string response = evq::http::bench::prebuilt_response(EVQ_CH07_WWW "/hello.txt");
  for (const std::string& program : yardsticks()) {
    INFO("yardstick: " << program);
    Yardstick server(program);
    evq::UniqueFd client = evq::connect_loopback(server.port());
    evq::write_all(client.get(), repeat(kGet, 50));
    CHECK_MESSAGE(read_up_to(client.get(), 50 * response.size()) == repeat(response, 50),
                  "fifty requests in one write should come back as fifty prebuilt responses, whole");
    // A head cut in three, the pieces 50 ms apart: one response, after the last piece.
    evq::write_all(client.get(), kGet.substr(0, 5));
    std::this_thread::sleep_for(50ms);
    evq::write_all(client.get(), kGet.substr(5, 20));
    std::this_thread::sleep_for(50ms);
    evq::write_all(client.get(), kGet.substr(25));
    CHECK(read_up_to(client.get(), response.size()) == response);
    const auto ended = server.stop();
    CHECK_MESSAGE(ended.status == 0, "SIGTERM should stop it with status 0; it said: " << ended.said);
    CHECK_MESSAGE(ended.said.find("summary: stopped by signal 15") != std::string::npos, ended.said);
  }
}

TEST_CASE(
    "a yardstick drops a peer that resets, sends no blank line, or never reads, and serves the others") {
  const std::string response = evq::http::bench::prebuilt_response(EVQ_CH07_WWW "/hello.txt");
  for (const std::string& program : yardsticks()) {
    INFO("yardstick: " << program);
    Yardstick server(program);
    evq::UniqueFd steady = evq::connect_loopback(server.port());

    evq::UniqueFd resets = evq::connect_loopback(server.port());
    evq::write_all(resets.get(), kGet.substr(0, 10));
    evq::set_linger_reset(resets.get());
    resets.reset();  // closes with a RST, half a request sent

    evq::UniqueFd garbage = evq::connect_loopback(server.port());
    evq::write_all(garbage.get(), std::string(70 * 1024, 'x'));  // 64 KiB and more, no blank line
    CHECK_MESSAGE(closed_by_peer(garbage.get()), "70 KiB without a blank line should close the connection");

    // Requests pipelined without ever reading a response: more responses than the peer's 1 MiB
    // cap on what it queues. It must close the connection (our sends then fail), not queue for ever.
    evq::UniqueFd hoarder = evq::connect_loopback(server.port());
    evq::set_nonblocking(hoarder.get());
    const std::string burst = repeat(kGet, 1000);
    bool refused = false;
    std::size_t sent = 0;
    for (const auto deadline = Clock::now() + 20s; !refused && Clock::now() < deadline;) {
      const ssize_t n = ::send(hoarder.get(), burst.data(), burst.size(), MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN) refused = true;
      if (n < 0 && errno == EAGAIN) std::this_thread::sleep_for(1ms);
    }
    CHECK_MESSAGE(refused, "a peer that never reads should be dropped; it took "
                               << sent << " bytes of requests "
                               << "and kept the connection");

    evq::write_all(steady.get(), kGet);
    CHECK_MESSAGE(read_up_to(steady.get(), response.size()) == response,
                  "the steady client should still be answered after the hostile ones");
    const auto ended = server.stop();
    CHECK_MESSAGE(ended.status == 0, ended.said);
  }
}

#ifdef EVQ_URING_HTTP_PEER
TEST_CASE("where io_uring is refused, as in a container, the io_uring yardstick says so and exits 1") {
  Yardstick server(EVQ_URING_HTTP_PEER, Yardstick::Start::refused_io_uring);
  const auto ended = server.wait();
  REQUIRE_MESSAGE(ended.status != 126, "the test could not install its seccomp filter");
  CHECK_MESSAGE(ended.status == 1, "a refused ring should end it with status 1 (not a crash, not a hang); "
                                       << "it ended with " << ended.status << " and said: " << ended.said);
  CHECK_MESSAGE(ended.said.find("io_uring_queue_init") != std::string::npos,
                "it should name the call that was refused; it said: " << ended.said);
}
#endif
