#include "evq/iocp/echo_client.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <mutex>
#include <system_error>
#include <thread>

#include "evq/common/win32.hpp"

namespace evq::iocp {

std::string echo_message(int client, int index, std::size_t size) {
  std::string text = fmt::format("client {} message {} ", client, index);
  text.resize(std::max(size, text.size()), static_cast<char>('a' + (client + index) % 26));
  return text;
}

EchoClientReport run_echo_clients(std::uint16_t port, int clients, int messages, std::size_t message_size,
                                  unsigned deadline_ms) {
  WsaSession session;
  EchoClientReport report;
  std::mutex mutex;
  std::vector<std::thread> threads;
  for (int id = 0; id < clients; ++id) {
    threads.emplace_back([&, id] {
      std::uint64_t verified = 0;
      std::string failure;
      try {
        UniqueSocket s = connect_loopback_socket(port);
        set_receive_timeout(s.get(), deadline_ms);
        for (int m = 0; m < messages && failure.empty(); ++m) {
          std::string message = echo_message(id, m, message_size);
          send_all(s.get(), message);
          std::string echo = recv_exact(s.get(), message.size());
          if (echo != message)
            failure =
                fmt::format("client {}: message {} came back as {} bytes that differ", id, m, echo.size());
          else
            verified += echo.size();
        }
        if (failure.empty()) {
          shutdown_send(s.get());
          if (!recv_exact(s.get(), 1).empty())
            failure = fmt::format("client {}: bytes after the last echo, expected end of stream", id);
        }
      } catch (const std::system_error& e) {
        failure = fmt::format("client {}: {}", id, e.what());
      }
      std::lock_guard lock(mutex);
      report.bytes_verified += verified;
      if (failure.empty())
        ++report.clients_ok;
      else
        report.failures.push_back(failure);
    });
  }
  for (auto& t : threads) t.join();
  return report;
}

}  // namespace evq::iocp
