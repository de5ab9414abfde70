// asio_http_peer: the benchmark's Asio peer, an HTTP server written the way an Asio user would write
// it with C++20 coroutines (awaitable, co_spawn): one io_context run by --threads threads, one
// coroutine per connection. It serves one prebuilt response (see peer_common.hpp).
//
//   asio_http_peer --file www/hello.txt --threads 4      # prints "serving on 127.0.0.1 port N"
#include <fmt/core.h>

#include <asio.hpp>
#include <string>
#include <thread>
#include <vector>

#include "evq/common/cli.hpp"
#include "peer_common.hpp"

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

awaitable<void> session(tcp::socket socket, const std::string& response) {
  std::string pending, out;
  char buffer[16 * 1024];
  for (;;) {
    std::error_code ec;
    const std::size_t n =
        co_await socket.async_read_some(asio::buffer(buffer), asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    pending.append(buffer, n);
    out.clear();
    for (int i = evq::http::bench::take_requests(pending); i > 0; --i) out += response;
    if (out.empty()) continue;
    co_await asio::async_write(socket, asio::buffer(out), asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
  }
}

awaitable<void> listen(tcp::acceptor& acceptor, const std::string& response) {
  for (;;) {
    std::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;  // EMFILE and friends: this peer does not pause; the benchmark never gets there
    }
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), session(std::move(socket), response), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("asio_http_peer", "The HTTP benchmark's Asio peer: one prebuilt response, C++20 coroutines.");
  cli.option("file", "the file whose contents every response carries", "");
  cli.option("threads", "threads running the io_context", "4");
  cli.parse(argc, argv);
  if (cli.get("file").empty()) cli.fail("--file is required");
  return cli.run([&] {
    const std::string response = evq::http::bench::prebuilt_response(cli.get("file"));
    const int threads = static_cast<int>(cli.get_int("threads", 1, 256));
    asio::io_context io(threads);
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor.listen(4096);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code, int) { io.stop(); });
    asio::co_spawn(io, listen(acceptor, response), asio::detached);
    fmt::print("serving on 127.0.0.1 port {} with {} threads\n", acceptor.local_endpoint().port(), threads);
    std::fflush(stdout);
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back([&] { io.run(); });
    io.run();
    for (std::thread& t : pool) t.join();
    fmt::print("summary: stopped\n");
    return 0;
  });
}
