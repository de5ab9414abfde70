#include "load.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fmt/core.h>
#include <algorithm>
#include <vector>

#include "evq/common/error.hpp"
#include "evq/common/net.hpp"
#include "evq/epoll/poll.hpp"
#include "load_stats.hpp"

namespace evq::completion::bench {
namespace {

struct Client {
  UniqueFd fd;
  std::string message;   // what it sent
  std::string received;  // the echo so far
  std::chrono::steady_clock::time_point sent;
};

}  // namespace

LoadResult run_load(std::uint16_t port, int connections, std::size_t message_size,
                    std::chrono::duration<double> warmup, std::chrono::duration<double> duration,
                    const CpuMeter& cpu) {
  using Clock = std::chrono::steady_clock;
  LoadResult result;
  evq::epoll::Poll poll;
  std::vector<Client> clients(static_cast<std::size_t>(connections));
  for (std::size_t i = 0; i < clients.size(); ++i) {
    clients[i].fd = evq::connect_loopback(port);
    evq::set_nodelay(clients[i].fd.get());
    evq::set_nonblocking(clients[i].fd.get());
    clients[i].message.assign(message_size, static_cast<char>('A' + i % 26));
    clients[i].received.reserve(message_size);
    poll.registry().add(clients[i].fd.get(), i, EPOLLIN);
  }
  for (Client& c : clients) {
    c.sent = Clock::now();
    evq::write_all(c.fd.get(), c.message);  // small: never blocks
  }
  LatencySamples latencies;

  auto start = Clock::now();
  auto measure_from = start + std::chrono::duration_cast<Clock::duration>(warmup);
  auto until = measure_from + std::chrono::duration_cast<Clock::duration>(duration);
  std::uint64_t trips = 0;
  bool measuring = false;
  CpuMeter::Sample cpu_at_start;
  evq::epoll::Events events(256);
  char buffer[64 * 1024];
  for (;;) {
    auto now = Clock::now();
    if (!measuring && now >= measure_from) {
      measuring = true;
      trips = 0;
      cpu_at_start = cpu.now();
    }
    if (now >= until) break;
    std::size_t n = poll.wait(events, std::chrono::milliseconds(100));
    if (n == 0 && Clock::now() - now > std::chrono::seconds(5)) {
      result.error = "no echo arrived for 5 s";
      break;
    }
    for (std::size_t e = 0; e < n && result.error.empty(); ++e) {
      Client& c = clients[events[e].token];
      ssize_t got = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (got <= 0) {
        result.error = fmt::format("connection {} ended: {}", events[e].token,
                                   got == 0 ? "end of stream" : std::strerror(errno));
        break;
      }
      c.received.append(buffer, static_cast<std::size_t>(got));
      if (c.received.size() < c.message.size()) continue;
      if (c.received != c.message) {
        result.error = fmt::format("connection {}: the echo differs from what was sent", events[e].token);
        break;
      }
      c.received.clear();
      ++trips;
      const auto echoed = Clock::now();
      if (measuring) latencies.add(echoed - c.sent);
      c.sent = echoed;
      evq::write_all(c.fd.get(), c.message);
    }
    if (!result.error.empty()) break;
  }
  if (measuring)
    fill_cpu(result, cpu_at_start, cpu.now());
  else
    result.server_cpu_seconds = -1;
  result.round_trips = trips;
  latencies.fill(result);
  result.seconds = std::chrono::duration<double>(Clock::now() - (measuring ? measure_from : start)).count();
  return result;
}

}  // namespace evq::completion::bench
