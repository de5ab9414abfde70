// uring_http_peer: the benchmark's second yardstick, bare_http_peer again on io_uring instead of
// epoll. One thread and one ring: a multishot accept, a multishot receive per connection into
// buffers the kernel picks from a ring of them, and the prebuilt response (peer_common.hpp) sent
// for each complete request head. One io_uring_submit_and_wait per loop submits every send of the
// batch and sleeps only when no completion is ready, so a busy loop makes about one system call
// per batch instead of several per request: what io_uring can save a server, with nothing else.
//
//   uring_http_peer --file www/hello.txt       # prints "serving on 127.0.0.1 port N"; Ctrl-C stops
//
// Like bare_http_peer it survives what the benchmark does and a little more (a peer that resets,
// sends 64 KiB without a blank line, or pipelines 1 MiB of responses it never reads; out of
// descriptors, it stops accepting for 100 ms), and it is not hardened: it is a yardstick.
// tests/ch07-server/test_yardsticks.cpp holds it to that.
// Needs Linux 6.0 (multishot receive); with 6.1 it asks for DEFER_TASKRUN, as chapter 4 does.
#include <fmt/core.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unordered_map>

#include "evq/common/cli.hpp"
#include "peer_common.hpp"

namespace {

constexpr std::size_t kMaxHead = 64 * 1024;   // no blank line in this much: not HTTP, or hostile
constexpr std::size_t kMaxOut = 1024 * 1024;  // responses queued for a peer that does not read
constexpr unsigned kBuffers = 1024;           // the receive buffers the kernel picks from
constexpr unsigned kBufferSize = 4096;
constexpr int kBufferGroup = 0;

// What a completion is about: its user data is a Connection's address with the kind in the low
// bits (a Connection is 8-aligned), or a kind alone for the ring's own operations.
enum Kind : std::uint64_t { kAccept = 1, kReceive = 2, kSend = 3, kSignal = 4, kRetryAccept = 5 };
constexpr std::uint64_t kKindMask = 7;

struct Connection {
  int fd = -1;
  std::string pending;  // bytes of a request head not yet complete
  std::string sending;  // the bytes of the one send in flight: the kernel reads them until its CQE
  std::string queued;   // responses for requests that came while a send was in flight
  bool receiving = false;
  bool send_in_flight = false;
  bool ending = false;  // shut down: freed once its receive and send have both completed
};

[[noreturn]] void fail(const char* what, int error = errno) {
  throw std::system_error(error, std::generic_category(), what);
}

int listener() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // blocking: io_uring waits, we do not
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

class Server {
 public:
  Server(std::string response, int listen_fd, int signal_fd)
      : response_(std::move(response)), listen_fd_(listen_fd), signal_fd_(signal_fd) {
    io_uring_params params{};
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int rc = io_uring_queue_init_params(4096, &ring_, &params);
    if (rc == -EINVAL) rc = io_uring_queue_init(4096, &ring_, 0);  // before Linux 6.1
    if (rc < 0) fail("io_uring_queue_init", -rc);
    setup_buffers();
    arm_accept();
    io_uring_sqe* s = sqe();
    io_uring_prep_read(s, signal_fd_, &signal_, sizeof signal_, 0);
    io_uring_sqe_set_data64(s, kSignal);
  }

  // Runs until SIGINT or SIGTERM; returns the signal's number.
  int run() {
    for (;;) {
      const int rc = io_uring_submit_and_wait(&ring_, 1);
      if (rc < 0 && rc != -EINTR && rc != -EBUSY) fail("io_uring_submit_and_wait", -rc);
      io_uring_cqe* cqe;
      unsigned head, seen = 0;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        ++seen;
        if (on_cqe(*cqe)) return static_cast<int>(signal_.ssi_signo);
      }
      io_uring_cq_advance(&ring_, seen);
    }
  }

  std::size_t open() const { return connections_.size(); }

 private:
  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    if (!s) {  // the submission ring is full: hand what it holds to the kernel, then there is room
      io_uring_submit(&ring_);
      s = io_uring_get_sqe(&ring_);
      if (!s) throw std::runtime_error("io_uring: no free submission entry after io_uring_submit");
    }
    return s;
  }

  // The ring of receive buffers (Linux 5.19): the kernel takes one for each receive completion and
  // names it in the CQE; give_back() returns it.
  void setup_buffers() {
    pool_ = std::make_unique<char[]>(std::size_t{kBuffers} * kBufferSize);
    const std::size_t bytes = kBuffers * sizeof(io_uring_buf);
    void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) fail("mmap");
    buffer_ring_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(mem);
    reg.ring_entries = kBuffers;
    reg.bgid = kBufferGroup;
    if (int rc = io_uring_register_buf_ring(&ring_, &reg, 0); rc < 0)
      fail("io_uring_register_buf_ring (needs Linux 5.19)", -rc);
    io_uring_buf_ring_init(buffer_ring_);
    for (unsigned id = 0; id < kBuffers; ++id)
      io_uring_buf_ring_add(buffer_ring_, buffer(id), kBufferSize, static_cast<unsigned short>(id),
                            io_uring_buf_ring_mask(kBuffers), static_cast<int>(id));
    io_uring_buf_ring_advance(buffer_ring_, kBuffers);
  }
  char* buffer(unsigned id) { return pool_.get() + std::size_t{id} * kBufferSize; }
  void give_back(unsigned id) {
    io_uring_buf_ring_add(buffer_ring_, buffer(id), kBufferSize, static_cast<unsigned short>(id),
                          io_uring_buf_ring_mask(kBuffers), 0);
    io_uring_buf_ring_advance(buffer_ring_, 1);
  }

  void arm_accept() {
    io_uring_sqe* s = sqe();
    io_uring_prep_multishot_accept(s, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, kAccept);
  }
  void arm_receive(Connection& c) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recv_multishot(s, c.fd, nullptr, 0, 0);  // no buffer of ours: the kernel picks one
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = kBufferGroup;
    io_uring_sqe_set_data64(s, tag(c, kReceive));
    c.receiving = true;
  }
  // One send at a time per connection: two in flight could interleave if one of them went short.
  void send_next(Connection& c) {
    if (c.send_in_flight || c.ending) return;
    if (c.sending.empty()) c.sending.swap(c.queued);
    if (c.sending.empty()) return;
    io_uring_sqe* s = sqe();
    io_uring_prep_send(s, c.fd, c.sending.data(), c.sending.size(), MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, tag(c, kSend));
    c.send_in_flight = true;
  }
  // Shutting the socket down ends its multishot receive (a 0) and fails a send in flight; the
  // connection is freed when both have completed, so no CQE ever names freed memory.
  void end(Connection& c) {
    if (!c.ending) ::shutdown(c.fd, SHUT_RDWR);
    c.ending = true;
    if (c.receiving || c.send_in_flight) return;
    ::close(c.fd);
    connections_.erase(&c);
  }

  static std::uint64_t tag(Connection& c, Kind kind) { return reinterpret_cast<std::uint64_t>(&c) | kind; }

  // Returns true when a stop signal came.
  bool on_cqe(const io_uring_cqe& cqe) {
    const std::uint64_t data = io_uring_cqe_get_data64(&cqe);
    const auto kind = static_cast<Kind>(data & kKindMask);
    if (kind == kSignal) return true;
    if (kind == kAccept || kind == kRetryAccept) {
      on_accept(cqe, kind);
      return false;
    }
    Connection& c = *reinterpret_cast<Connection*>(data & ~kKindMask);
    if (kind == kReceive) on_receive(c, cqe);
    if (kind == kSend) on_send(c, cqe);
    return false;
  }

  void on_accept(const io_uring_cqe& cqe, Kind kind) {
    if (kind == kRetryAccept) return arm_accept();  // the pause after EMFILE is over
    if (cqe.res >= 0) {
      const int one = 1;
      ::setsockopt(cqe.res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto owned = std::make_unique<Connection>();
      owned->fd = cqe.res;
      Connection& c = *owned;
      connections_.emplace(&c, std::move(owned));
      arm_receive(c);
    }
    if (cqe.flags & IORING_CQE_F_MORE) return;  // the multishot accept goes on
    if (cqe.res == -EMFILE || cqe.res == -ENFILE) {
      // Out of descriptors: accepting again at once would fail again at once, a spin. Wait 100 ms.
      io_uring_sqe* s = sqe();
      io_uring_prep_timeout(s, &pause_, 0, 0);
      io_uring_sqe_set_data64(s, kRetryAccept);
      return;
    }
    arm_accept();
  }

  void on_receive(Connection& c, const io_uring_cqe& cqe) {
    if (!(cqe.flags & IORING_CQE_F_MORE)) c.receiving = false;
    if (cqe.res > 0 && (cqe.flags & IORING_CQE_F_BUFFER)) {
      const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
      c.pending.append(buffer(id), static_cast<std::size_t>(cqe.res));
      give_back(id);
      for (int i = evq::http::bench::take_requests(c.pending); i > 0; --i) c.queued += response_;
      if (c.pending.size() > kMaxHead || c.queued.size() > kMaxOut) return end(c);
      send_next(c);
      if (!c.receiving && !c.ending) arm_receive(c);
      return;
    }
    if (cqe.res == -ENOBUFS) {  // every buffer was out; they come back within this batch
      if (!c.receiving && !c.ending) arm_receive(c);
      return;
    }
    end(c);  // 0: the peer closed; < 0: it reset, or our shutdown ended the receive
  }

  void on_send(Connection& c, const io_uring_cqe& cqe) {
    c.send_in_flight = false;
    if (cqe.res <= 0 || c.ending) return end(c);
    c.sending.erase(0, static_cast<std::size_t>(cqe.res));  // a short send: the rest goes next
    send_next(c);
  }

  io_uring ring_{};
  io_uring_buf_ring* buffer_ring_ = nullptr;
  std::unique_ptr<char[]> pool_;
  std::string response_;
  int listen_fd_, signal_fd_;
  signalfd_siginfo signal_{};
  __kernel_timespec pause_{0, 100'000'000};
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
};

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli(
      "uring_http_peer",
      "The HTTP benchmark's smallest server on io_uring: one thread, one ring, one prebuilt response.");
  cli.option("file", "the file whose contents every response carries", "");
  cli.parse(argc, argv);
  if (cli.get("file").empty()) cli.fail("--file is required");
  return cli.run([&] {
    const std::string response = evq::http::bench::prebuilt_response(cli.get("file"));
    const int listen_fd = listener();
    // SIGINT/SIGTERM arrive as a descriptor the ring reads, so the one loop sees them as a CQE.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
    const int sigfd = ::signalfd(-1, &stop_signals, SFD_CLOEXEC);
    if (sigfd < 0) fail("signalfd");
    Server server(response, listen_fd, sigfd);
    fmt::print("serving on 127.0.0.1 port {} with 1 thread\n", port_of(listen_fd));
    std::fflush(stdout);
    const int signal = server.run();
    fmt::print("summary: stopped by signal {}, {} connections open\n", signal, server.open());
    return 0;
  });
}
