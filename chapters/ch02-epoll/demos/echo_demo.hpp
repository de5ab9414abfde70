// What the three echo demos share: the command line, the loopback clients that check every echo,
// and --serve for trying the server with your own client (nc 127.0.0.1 <port>).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/unique_fd.hpp"
#include "evq/epoll/echo_server.hpp"

namespace evq::epoll::demo {

// The one face the demo needs of a server (EchoServer or OneshotEchoServer).
class DemoServer {
 public:
  virtual ~DemoServer() = default;
  virtual std::uint16_t port() const = 0;
  virtual void run() = 0;
  virtual void stop() = 0;
  virtual EchoStats stats() const = 0;
  virtual void report(Narrator&) const {}  // anything extra worth telling at the end
};

template <typename Server>
class Wrapped : public DemoServer {
 public:
  template <typename... Args>
  explicit Wrapped(Args&&... args) : server(std::forward<Args>(args)...) {}
  std::uint16_t port() const override { return server.port(); }
  void run() override { server.run(); }
  void stop() override { server.stop(); }
  EchoStats stats() const override { return server.stats(); }
  Server server;
};

// Adds the shared options: --clients --messages --size --serve --seconds --quiet.
void add_echo_options(Cli& cli);

// Checks the shared options (a bad one exits 2 before anything is printed), prints `title`, makes
// the listener (narrated), builds the server with `make`, then either runs the loopback clients and
// verifies the echoes, or with --serve serves until --seconds pass or Ctrl-C. Returns the exit status.
int run_echo_demo(const Cli& cli, const std::string& title,
                  const std::function<std::unique_ptr<DemoServer>(UniqueFd, Narrator*)>& make);

}  // namespace evq::epoll::demo
