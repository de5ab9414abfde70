// The benchmark's load, driven through io_uring instead of epoll: the same N connections in
// ping-pong, the same checks, the same figures (load.hpp). Why a second one: a load generator that
// makes three system calls per round trip (epoll_wait, recv, send) costs about as much CPU as the
// raw epoll server it measures, so on a two-core machine it, not the server, sets the pace, and a
// server cheaper than raw epoll cannot show it. This one queues a send and a receive per round trip
// and hands the kernel every queued entry of a loop turn in one io_uring_enter, so its own cost per
// round trip is mostly the kernel's TCP work.
#include <liburing.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fmt/core.h>
#include <algorithm>
#include <vector>

#include "evq/common/error.hpp"
#include "evq/common/net.hpp"
#include "load.hpp"
#include "load_stats.hpp"
#include "uring_ring.hpp"

namespace evq::completion::bench {
namespace {

struct Client {
  UniqueFd fd;
  std::string message;   // what it sends, and must get back
  std::string received;  // the echo, filled by the receives in flight
  std::size_t got = 0;   // how much of the echo has arrived
  std::chrono::steady_clock::time_point sent;
};

// A completion's user_data: the client's index, and whether the entry was its send.
constexpr std::uint64_t kSendBit = 1ull << 63;

}  // namespace

std::string uring_load_unavailable() {
  io_uring ring;
  if (int rc = io_uring_queue_init(4, &ring, 0); rc < 0)
    return fmt::format("io_uring_queue_init failed: {}", std::strerror(-rc));
  io_uring_queue_exit(&ring);
  return "";
}

LoadResult run_load_uring(std::uint16_t port, int connections, std::size_t message_size,
                          std::chrono::duration<double> warmup, std::chrono::duration<double> duration,
                          const CpuMeter& cpu) {
  using Clock = std::chrono::steady_clock;
  LoadResult result;
  io_uring ring;
  detail::init_one_submitter_ring(ring, 4096);
  struct RingGuard {
    io_uring* r;
    ~RingGuard() { io_uring_queue_exit(r); }
  } guard{&ring};
  bool enabled = false;
  std::size_t in_flight = 0;  // entries queued whose completion has not been seen

  std::vector<Client> clients(static_cast<std::size_t>(connections));
  auto queue_recv = [&](std::size_t i) {
    Client& c = clients[i];
    io_uring_sqe* sqe = detail::next_sqe(ring, enabled);
    io_uring_prep_recv(sqe, c.fd.get(), c.received.data() + c.got, c.message.size() - c.got, 0);
    io_uring_sqe_set_data64(sqe, i);
    ++in_flight;
  };
  auto queue_send = [&](std::size_t i) {
    // The message is the client's own string, alive until the run ends: a send that completes short
    // (never seen with 64 bytes on loopback) is reported as an error rather than resent.
    Client& c = clients[i];
    io_uring_sqe* sqe = detail::next_sqe(ring, enabled);
    io_uring_prep_send(sqe, c.fd.get(), c.message.data(), c.message.size(), MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, i | kSendBit);
    ++in_flight;
  };
  for (std::size_t i = 0; i < clients.size(); ++i) {
    clients[i].fd = evq::connect_loopback(port);
    evq::set_nodelay(clients[i].fd.get());
    clients[i].message.assign(message_size, static_cast<char>('A' + i % 26));
    clients[i].received.assign(message_size, '\0');
  }
  for (std::size_t i = 0; i < clients.size(); ++i) {
    clients[i].sent = Clock::now();
    queue_send(i);
    queue_recv(i);
  }
  detail::enable_ring(ring, enabled);

  LatencySamples latencies;
  auto start = Clock::now();
  auto measure_from = start + std::chrono::duration_cast<Clock::duration>(warmup);
  auto until = measure_from + std::chrono::duration_cast<Clock::duration>(duration);
  std::uint64_t trips = 0;
  bool measuring = false;
  CpuMeter::Sample cpu_at_start;
  auto last_echo = start;
  while (result.error.empty()) {
    auto now = Clock::now();
    if (!measuring && now >= measure_from) {
      measuring = true;
      trips = 0;
      cpu_at_start = cpu.now();
    }
    if (now >= until) break;
    if (now - last_echo > std::chrono::seconds(5)) {
      result.error = "no echo arrived for 5 s";
      break;
    }
    // One system call a turn: everything queued goes in, and we wait (at most 100 ms) for one result.
    __kernel_timespec wait{0, 100'000'000};
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &wait, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR) throw_errno("io_uring_submit_and_wait_timeout", -rc);
    unsigned head = 0, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      --in_flight;
      const std::uint64_t data = io_uring_cqe_get_data64(cqe);
      const std::size_t i = static_cast<std::size_t>(data & ~kSendBit);
      Client& c = clients[i];
      if (data & kSendBit) {
        if (cqe->res != static_cast<int>(c.message.size()) && result.error.empty())
          result.error = fmt::format("connection {}: send returned {}", i,
                                     cqe->res < 0 ? std::strerror(-cqe->res) : std::to_string(cqe->res));
        continue;
      }
      if (cqe->res <= 0) {
        if (result.error.empty())
          result.error = fmt::format("connection {} ended: {}", i,
                                     cqe->res == 0 ? "end of stream" : std::strerror(-cqe->res));
        continue;
      }
      c.got += static_cast<std::size_t>(cqe->res);
      if (c.got < c.message.size()) {  // part of the echo: receive the rest
        queue_recv(i);
        continue;
      }
      if (c.received != c.message) {
        if (result.error.empty())
          result.error = fmt::format("connection {}: the echo differs from what was sent", i);
        continue;
      }
      c.got = 0;
      ++trips;
      last_echo = Clock::now();
      if (measuring) latencies.add(last_echo - c.sent);
      c.sent = last_echo;
      queue_send(i);
      queue_recv(i);
    }
    io_uring_cq_advance(&ring, seen);
  }
  if (measuring)
    fill_cpu(result, cpu_at_start, cpu.now());
  else
    result.server_cpu_seconds = -1;
  result.round_trips = trips;
  latencies.fill(result);
  result.seconds = std::chrono::duration<double>(Clock::now() - (measuring ? measure_from : start)).count();
  // The receives still in flight write into the clients' buffers: end them (a shut-down socket
  // completes its receives with 0) and wait for every completion before the buffers go.
  for (Client& c : clients) ::shutdown(c.fd.get(), SHUT_RDWR);
  for (auto deadline = Clock::now() + std::chrono::seconds(5); in_flight > 0 && Clock::now() < deadline;) {
    __kernel_timespec wait{0, 100'000'000};
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &wait, nullptr);
    unsigned head = 0, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe)++ seen;
    io_uring_cq_advance(&ring, seen);
    in_flight -= std::min<std::size_t>(in_flight, seen);
  }
  return result;
}

}  // namespace evq::completion::bench
