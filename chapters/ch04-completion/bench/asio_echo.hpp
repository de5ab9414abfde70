// The external peer in bench_echo: an echo server written the way a Boost.Asio user would write it
// (standalone Asio, Debian libasio-dev), one io_context on one thread, one session per connection
// with its own buffer, async_read_some then async_write of what came, again and again. Written for
// this benchmark from Asio's documented interface; nothing of Asio's examples is copied.
#pragma once

#include <cstdint>
#include <memory>

#include "evq/common/unique_fd.hpp"

namespace evq::completion::bench {

class AsioEchoServer {
 public:
  // Serves connections accepted on `listener` (a listening IPv4 socket) once run() is called.
  explicit AsioEchoServer(UniqueFd listener);
  ~AsioEchoServer();
  AsioEchoServer(const AsioEchoServer&) = delete;
  AsioEchoServer& operator=(const AsioEchoServer&) = delete;

  void run();   // serves until stop(); call from the server's thread
  void stop();  // from any thread

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace evq::completion::bench
