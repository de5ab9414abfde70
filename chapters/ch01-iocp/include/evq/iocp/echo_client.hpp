// Loopback clients for the echo server: the demos' own traffic and the tests' fixture.
// Blocking sockets with a receive deadline: each client sends numbered messages, reads each echo
// back and compares it, then half-closes and expects end of stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace evq::iocp {

struct EchoClientReport {
  int clients_ok = 0;  // clients whose every echo matched and that saw a clean close
  std::uint64_t bytes_verified = 0;
  std::vector<std::string> failures;  // one line per client that did not finish cleanly
};

// Runs `clients` threads against 127.0.0.1:port, each sending `messages` messages of `message_size`
// bytes. Every blocking receive has a deadline of `deadline_ms`.
EchoClientReport run_echo_clients(std::uint16_t port, int clients, int messages,
                                  std::size_t message_size = 64, unsigned deadline_ms = 10'000);

// The message client `client` sends as number `index`: distinct per client and message.
std::string echo_message(int client, int index, std::size_t size);

}  // namespace evq::iocp
