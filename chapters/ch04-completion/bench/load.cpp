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

namespace evq::completion::bench {
namespace {

struct Client {
  UniqueFd fd;
  std::string message;   // what it sent
  std::string received;  // the echo so far
  std::chrono::steady_clock::time_point sent;
};

double percentile_us(std::vector<std::int64_t>& ns, double q) {
  if (ns.empty()) return 0;
  auto i = static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1));
  std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(i), ns.end());
  return static_cast<double>(ns[i]) / 1000.0;
}

}  // namespace

namespace {
double cpu_seconds(clockid_t clock) {
  timespec ts{};
  if (::clock_gettime(clock, &ts) < 0) return -1;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
}  // namespace

LoadResult run_load(std::uint16_t port, int connections, std::size_t message_size,
                    std::chrono::duration<double> warmup, std::chrono::duration<double> duration,
                    clockid_t server_clock) {
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
  std::vector<std::int64_t> latencies;
  latencies.reserve(1 << 20);

  auto start = Clock::now();
  auto measure_from = start + std::chrono::duration_cast<Clock::duration>(warmup);
  auto until = measure_from + std::chrono::duration_cast<Clock::duration>(duration);
  std::uint64_t trips = 0;
  bool measuring = false;
  double cpu_at_start = 0;
  evq::epoll::Events events(256);
  char buffer[64 * 1024];
  for (;;) {
    auto now = Clock::now();
    if (!measuring && now >= measure_from) {
      measuring = true;
      trips = 0;
      cpu_at_start = cpu_seconds(server_clock);
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
      if (measuring)
        latencies.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(echoed - c.sent).count());
      c.sent = echoed;
      evq::write_all(c.fd.get(), c.message);
    }
    if (!result.error.empty()) break;
  }
  double cpu_at_end = cpu_seconds(server_clock);
  result.server_cpu_seconds =
      measuring && cpu_at_start >= 0 && cpu_at_end >= 0 ? cpu_at_end - cpu_at_start : -1;
  result.round_trips = trips;
  result.p50_us = percentile_us(latencies, 0.50);
  result.p99_us = percentile_us(latencies, 0.99);
  result.p999_us = percentile_us(latencies, 0.999);
  result.seconds = std::chrono::duration<double>(Clock::now() - (measuring ? measure_from : start)).count();
  return result;
}

}  // namespace evq::completion::bench
