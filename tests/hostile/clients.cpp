#include "clients.hpp"

#include <sys/resource.h>

#include <fmt/core.h>

#include <exception>
#include <thread>

#include "evq/common/error.hpp"
#include "evq/common/net.hpp"

namespace evq::hostile {

UniqueFd connect_to(const ServerProcess& server) {
  UniqueFd fd = connect_loopback(server.port(), server.family());
  set_receive_timeout(fd.get(), 10'000);
  set_send_timeout(fd.get(), 10'000);
  return fd;
}

std::string echo_round_trip(int fd, std::string_view message) {
  try {
    write_all(fd, message);
    std::string back = read_exact(fd, message.size());
    if (back == message) return "";
    if (back.size() < message.size())
      return fmt::format("sent {} bytes, got {} back before the connection ended", message.size(),
                         back.size());
    return fmt::format("sent {} bytes, got {} different bytes back", message.size(), back.size());
  } catch (const std::exception& e) {
    return fmt::format("sent {} bytes, then: {}", message.size(), e.what());
  }
}

std::string newcomer_is_served(const ServerProcess& server) {
  try {
    UniqueFd fd = connect_to(server);
    std::string why = echo_round_trip(fd.get(), "a newcomer says hello\n");
    return why.empty() ? "" : "a new client was not served: " + why;
  } catch (const std::exception& e) {
    return fmt::format("a new client could not connect: {}", e.what());
  }
}

std::string garbage(std::size_t n) {
  std::string bytes(n, '\0');
  std::uint32_t x = 2463534242u;  // xorshift32: the same bytes every run
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    bytes[i] = static_cast<char>(i % 97 == 0 ? '\0' : i % 89 == 0 ? '\n' : x & 0xff);
  }
  return bytes;
}

unsigned long raise_open_file_limit(unsigned long n) {
  rlimit lim{};
  check(::getrlimit(RLIMIT_NOFILE, &lim), "getrlimit(RLIMIT_NOFILE)");
  if (lim.rlim_cur < n) {
    lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? n : std::min<rlim_t>(n, lim.rlim_max);
    check(::setrlimit(RLIMIT_NOFILE, &lim), "setrlimit(RLIMIT_NOFILE)");
  }
  return lim.rlim_cur;
}

std::optional<int> wait_for_fd_count(const ServerProcess& server, int count,
                                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<int> seen;
  while ((seen = server.fd_count()) != count && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return seen;
}

}  // namespace evq::hostile
