#include "evq/epoll/echo_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <exception>
#include <latch>
#include <mutex>
#include <thread>

#include <fmt/core.h>

#include "evq/common/error.hpp"

namespace evq::epoll {
namespace {

void set_io_timeout(int fd, std::chrono::milliseconds timeout) {
  evq::set_receive_timeout(fd, static_cast<int>(timeout.count()));
  evq::set_send_timeout(fd, static_cast<int>(timeout.count()));
}

// Returns the bytes verified; throws with a description of the first mismatch.
std::uint64_t run_one(const EchoLoad& load, int client, std::latch& all_connected) {
  UniqueFd fd;
  try {
    fd = connect_loopback(load.port, load.family);
    set_io_timeout(fd.get(), load.io_timeout);
  } catch (...) {
    all_connected.count_down();
    throw;
  }
  all_connected.arrive_and_wait();
  std::string sent, echoed;
  std::uint64_t verified = 0;
  for (int m = 0; m < load.messages; ++m) {
    fill_message(sent, client, m, load.message_size);
    write_all(fd.get(), sent);
    echoed = read_exact(fd.get(), sent.size());
    if (echoed != sent)
      throw std::runtime_error(fmt::format("message {}: sent {} bytes, got back {} bytes{}", m, sent.size(),
                                           echoed.size(),
                                           echoed.size() == sent.size() ? " that differ" : ""));
    verified += echoed.size();
  }
  // Half-close: the server reads end of stream and must close its side, which we read as EOF.
  shutdown_write(fd.get());
  std::byte extra{};
  if (read_exact(fd.get(), std::span(&extra, 1)) != 0)
    throw std::runtime_error("after our half-close the server sent more bytes instead of closing");
  return verified;
}

}  // namespace

void fill_message(std::string& out, int client, int message, std::size_t size) {
  out.resize(size);
  // A cheap pattern that differs per client, per message and per position.
  std::uint32_t x =
      static_cast<std::uint32_t>(client) * 2654435761u ^ static_cast<std::uint32_t>(message) * 40503u;
  for (std::size_t i = 0; i < size; ++i) {
    x = x * 1664525u + 1013904223u;
    out[i] = static_cast<char>(x >> 24);
  }
}

EchoLoadResult run_echo_clients(const EchoLoad& load) {
  EchoLoadResult result;
  std::mutex mutex;
  std::latch all_connected(load.clients);
  auto start = std::chrono::steady_clock::now();
  {
    std::vector<std::jthread> threads;
    for (int c = 0; c < load.clients; ++c) {
      threads.emplace_back([&, c] {
        try {
          std::uint64_t verified = run_one(load, c, all_connected);
          std::lock_guard lock(mutex);
          ++result.clients_ok;
          result.bytes_verified += verified;
        } catch (const std::exception& e) {
          std::lock_guard lock(mutex);
          result.errors.push_back(fmt::format("client {}: {}", c, e.what()));
        }
      });
    }
  }
  result.elapsed = std::chrono::steady_clock::now() - start;
  return result;
}

}  // namespace evq::epoll
