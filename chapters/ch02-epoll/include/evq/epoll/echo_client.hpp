// Loopback echo clients for the demos and tests: each client connects, sends its messages one at a
// time, checks that every echo comes back byte for byte, then half-closes and expects the server to
// close too. All clients connect before any sends, so the server really has them all at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "evq/common/net.hpp"

namespace evq::epoll {

struct EchoLoad {
  std::uint16_t port = 0;
  int clients = 4;
  int messages = 100;
  std::size_t message_size = 64;  // keep it under ~64 KiB: a client writes a whole message before reading
  Family family = Family::v4;
  std::chrono::milliseconds io_timeout{10000};  // SO_RCVTIMEO/SO_SNDTIMEO: a broken server fails, never hangs
};

struct EchoLoadResult {
  int clients_ok = 0;
  std::uint64_t bytes_verified = 0;
  std::vector<std::string> errors;  // one line per failed client: what it expected and what came
  std::chrono::duration<double> elapsed{};
  bool ok() const { return errors.empty(); }
};

// Runs the clients on their own threads and waits for all of them.
EchoLoadResult run_echo_clients(const EchoLoad& load);

// The bytes client `client` sends as message `message`: distinct per client and message, so an
// echo delivered to the wrong client or in the wrong order is caught.
void fill_message(std::string& out, int client, int message, std::size_t size);

}  // namespace evq::epoll
