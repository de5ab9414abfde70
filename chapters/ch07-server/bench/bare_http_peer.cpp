// bare_http_peer: the benchmark's smallest server, a yardstick rather than a peer a user would pick.
// One thread, one epoll set, no library: accept, read, count the request heads, write the prebuilt
// response (peer_common.hpp), nothing else. Beside it, a row shows how much of a server's figures
// is the server: whatever it does costs on top of this. (It is not a floor: on these shared CPUs
// its own figures move from run to run as much as anyone's.)
//
//   bare_http_peer --file www/hello.txt        # prints "serving on 127.0.0.1 port N"; Ctrl-C stops
//
// It survives what the benchmark does and a little more (a peer that resets, or sends 64 KiB
// without a blank line, or pipelines 1 MiB of responses it never reads; out of descriptors, it stops
// accepting for 100 ms rather than spin), but it is not hardened: it is a yardstick.
// tests/ch07-server/test_yardsticks.cpp holds it to that.
#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unordered_map>

#include "evq/common/cli.hpp"
#include "peer_common.hpp"

namespace {

constexpr std::size_t kMaxHead = 64 * 1024;   // no blank line in this much: not HTTP, or hostile
constexpr std::size_t kMaxOut = 1024 * 1024;  // responses queued for a peer that does not read

struct Connection {
  std::string pending;        // bytes of a request head not yet complete
  std::string out;            // responses not yet written (wrk's one request at a time: rarely any)
  bool watching_out = false;  // EPOLLOUT asked for: only while `out` waits for room
};

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

int listener() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // port 0: the kernel picks one
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind");
  if (::listen(fd, 4096) != 0) fail("listen");
  return fd;
}

int port_of(int fd) {
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  return ntohs(bound.sin_port);
}

// Asks for EPOLLOUT or stops asking. Level-triggered, an EPOLLOUT left on after `out` emptied
// would report the writable socket at every wait: a spin.
void watch_out(int epfd, int fd, Connection& c, bool on) {
  if (c.watching_out == on) return;
  epoll_event ev{on ? EPOLLIN | EPOLLOUT : EPOLLIN, {.fd = fd}};
  ::epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
  c.watching_out = on;
}

// Writes what `c.out` holds; true while the connection lives. What did not fit waits for EPOLLOUT.
bool flush(int epfd, int fd, Connection& c) {
  while (!c.out.empty()) {
    const ssize_t n = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) return false;
    c.out.erase(0, static_cast<std::size_t>(n));
  }
  watch_out(epfd, fd, c, !c.out.empty());
  return true;
}

// One readiness of a connection: read what is there, answer every complete head. Level-triggered,
// so one read per readiness is enough: whatever is left raises the next one.
bool serve(int epfd, int fd, Connection& c, const std::string& response) {
  char buffer[16 * 1024];
  const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN)) return false;  // closed, reset
  if (n > 0) {
    c.pending.append(buffer, static_cast<std::size_t>(n));
    for (int i = evq::http::bench::take_requests(c.pending); i > 0; --i) c.out += response;
    if (c.pending.size() > kMaxHead || c.out.size() > kMaxOut) return false;
  }
  return flush(epfd, fd, c);
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("bare_http_peer",
               "The HTTP benchmark's smallest server: one thread, one epoll set, one prebuilt response.");
  cli.option("file", "the file whose contents every response carries", "");
  cli.parse(argc, argv);
  if (cli.get("file").empty()) cli.fail("--file is required");
  return cli.run([&] {
    const std::string response = evq::http::bench::prebuilt_response(cli.get("file"));
    const int listen_fd = listener();
    const int epfd = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) fail("epoll_create1");
    // SIGINT/SIGTERM arrive as a readable descriptor, so the one loop sees them like a socket.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
    const int sigfd = ::signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigfd < 0) fail("signalfd");
    for (int fd : {listen_fd, sigfd}) {
      epoll_event ev{EPOLLIN, {.fd = fd}};
      if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) fail("epoll_ctl");
    }
    fmt::print("serving on 127.0.0.1 port {} with 1 thread\n", port_of(listen_fd));
    std::fflush(stdout);

    std::unordered_map<int, Connection> connections;
    const int one = 1;
    bool accepting = true;  // false for a while after EMFILE: the listener stays readable, a spin
    epoll_event events[256];
    for (;;) {
      const int n = ::epoll_wait(epfd, events, 256, accepting ? -1 : 100);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("epoll_wait");
      if (!accepting) {  // 100 ms or more since EMFILE: watch the listener again
        epoll_event ev{EPOLLIN, {.fd = listen_fd}};
        accepting = ::epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev) == 0;
      }
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == sigfd) {
          signalfd_siginfo info{};
          const ssize_t got = ::read(sigfd, &info, sizeof info);
          fmt::print("summary: stopped by signal {}, {} connections open\n", got > 0 ? info.ssi_signo : 0,
                     connections.size());
          return 0;
        }
        if (fd == listen_fd) {
          // Level-triggered: one accept per readiness, whatever is left raises the next.
          const int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0 && (errno == EMFILE || errno == ENFILE)) {
            accepting = ::epoll_ctl(epfd, EPOLL_CTL_DEL, listen_fd, nullptr) != 0;
            continue;
          }
          if (c < 0) continue;  // the peer gave up before we took it: nothing to do
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event ev{EPOLLIN, {.fd = c}};
          if (::epoll_ctl(epfd, EPOLL_CTL_ADD, c, &ev) != 0) {
            ::close(c);
            continue;
          }
          connections[c];
          continue;
        }
        auto it = connections.find(fd);
        if (it == connections.end()) continue;
        if (!serve(epfd, fd, it->second, response)) {
          ::close(fd);  // also takes it out of the epoll set
          connections.erase(it);
        }
      }
    }
  });
}
