// http_server: chapter 7's HTTP/1.1 server, coroutines on chapter 5's port, serving a directory.
//
//   http_server                                  # the tour: its own clients, every step checked
//   http_server --serve --seconds 60             # serve chapters/ch07-server/www; then, in another shell:
//       curl -v http://127.0.0.1:<port>/                       (keep-alive: add a second URL)
//       curl --http1.1 http://127.0.0.1:<port>/hello.txt http://127.0.0.1:<port>/style.css
//       curl --data-binary @README.md -H 'Transfer-Encoding: chunked' http://127.0.0.1:<port>/echo
//
// What you should see in the tour: a GET answered, two requests on one connection, three pipelined
// in one write and answered in order, a 404, a '..' refused with 400, a chunked POST echoed, a
// request with a 20 KiB header refused with 431, and stop() closing what is idle: each step says
// what it sent and what came back.
#include <fmt/core.h>

#include <optional>
#include <string>
#include <thread>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/serve.hpp"
#include "evq/completion/backends.hpp"
#include "evq/completion/loopback.hpp"
#include "evq/http/server.hpp"
#include "evq/port/port.hpp"     // set_spin_limit
#include "evq/port/port_io.hpp"  // Driver

using namespace evq::completion;

namespace {

// Sends `request` on a fresh connection (or `sock`) and reads until `responses` responses are in.
std::string exchange(NativeSocket sock, const std::string& request, int responses) {
  loopback::send_all(sock, request);
  std::string got;
  int complete = 0;
  while (complete < responses) {
    std::string more = loopback::recv_exact(sock, 1);
    if (more.empty()) break;  // closed
    got += more;
    // A response is complete when its head and Content-Length bytes are in.
    complete = 0;
    for (std::size_t at = 0;;) {
      const std::size_t head_end = got.find("\r\n\r\n", at);
      if (head_end == std::string::npos) break;
      const std::size_t cl = got.find("Content-Length: ", at);
      if (cl == std::string::npos || cl > head_end) break;
      const std::size_t length = std::stoul(got.substr(cl + 16));
      if (got.size() < head_end + 4 + length) break;
      ++complete;
      at = head_end + 4 + length;
    }
  }
  return got;
}

std::string status_line(const std::string& response, std::size_t from = 0) {
  return response.substr(from, response.find("\r\n", from) - from);
}

int count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

bool tour(const std::string& backend, const std::string& root, bool quiet) {
  evq::Narrator say(!quiet);
  say.title("an HTTP/1.1 server on {} (coroutines on chapter 5's port), serving {}", backend, root);
  loopback::Listener listener = loopback::listen();  // first: it outlives the pool
  evq::coro::Pool pool(evq::coro::Pool::Options{0, 0, backend});
  evq::http::ServerOptions options;
  options.root = root;
  evq::http::HttpServer server(pool, listener.socket.get(), options);
  std::thread thread([&] { server.run(); });
  say.step("{} pool threads under a port of concurrency {}; listening on port {}", pool.threads(),
           pool.concurrency(), listener.port);
  bool ok = true;
  auto check = [&](bool good, const std::string& what) {
    say.step("{}{}", what, good ? "" : "   <-- NOT AS EXPECTED");
    ok = ok && good;
  };
  const std::string host = "Host: 127.0.0.1\r\n";
  {
    OwnedSocket c = loopback::connect(listener.port);
    std::string r = exchange(c.get(), "GET / HTTP/1.1\r\n" + host + "\r\n", 1);
    check(status_line(r) == "HTTP/1.1 200 OK" && r.find("chapter 7") != std::string::npos,
          "GET / -> " + status_line(r) + " (index.html)");
    r = exchange(c.get(), "GET /hello.txt HTTP/1.1\r\n" + host + "\r\n", 1);
    check(status_line(r) == "HTTP/1.1 200 OK" && r.ends_with("hello\n"),
          "the same connection, GET /hello.txt -> " + status_line(r) + ": keep-alive");
    r = exchange(c.get(),
                 "GET /hello.txt HTTP/1.1\r\n" + host + "\r\nGET /style.css HTTP/1.1\r\n" + host +
                     "\r\nGET /docs/ HTTP/1.1\r\n" + host + "\r\n",
                 3);
    check(count(r, "HTTP/1.1 200 OK") == 3 && r.find("hello") < r.find("font-family") &&
              r.find("font-family") < r.find("subdirectory"),
          "three requests pipelined in one write -> three 200s, in order");
    r = exchange(c.get(), "GET /no-such-file HTTP/1.1\r\n" + host + "\r\n", 1);
    check(status_line(r) == "HTTP/1.1 404 Not Found", "GET /no-such-file -> " + status_line(r));
    r = exchange(c.get(),
                 "POST /echo HTTP/1.1\r\n" + host +
                     "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n",
                 1);
    check(status_line(r) == "HTTP/1.1 200 OK" && r.ends_with("hello, world"),
          "POST /echo with a chunked body -> " + status_line(r) + ", the body decoded and echoed");
  }
  {
    OwnedSocket c = loopback::connect(listener.port);
    std::string r = exchange(c.get(), "GET /../etc/passwd HTTP/1.1\r\n" + host + "\r\n", 1);
    check(status_line(r) == "HTTP/1.1 400 Bad Request", "GET /../etc/passwd -> " + status_line(r));
  }
  {
    OwnedSocket c = loopback::connect(listener.port);
    std::string r =
        exchange(c.get(), "GET / HTTP/1.1\r\n" + host + "X-Big: " + std::string(20000, 'x') + "\r\n\r\n", 1);
    check(status_line(r) == "HTTP/1.1 431 Request Header Fields Too Large" &&
              r.find("Connection: close") != std::string::npos,
          "a 20 KiB header -> " + status_line(r) + ", and the connection closes");
  }
  OwnedSocket idle = loopback::connect(listener.port);           // connected, no request: idle
  for (int i = 0; i < 1000 && server.stats().accepted < 4; ++i)  // accepted, not just in the backlog
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server.stop();
  thread.join();
  check(loopback::recv_exact(idle.get(), 1).empty(), "stop(): the listener and the idle connection closed");
  const auto st = server.stats();
  say.step("summary: accepted {}, closed {}, requests {}, errors {}, timeouts {}", st.accepted, st.closed,
           st.requests, st.errors, st.timeouts);
  return ok && st.accepted == 4 && st.closed == 4;
}

int serve(const std::string& backend, const std::string& root, bool ipv6, long long seconds,
          const evq::http::ServerOptions& base, evq::coro::Pool::Options shape, bool quiet) {
  evq::Narrator say(!quiet);
  loopback::Listener listener = loopback::listen(4096, ipv6);
  shape.backend = backend;
  evq::coro::Pool pool(shape);
  evq::http::ServerOptions options = base;
  options.root = root;
  evq::http::HttpServer server(pool, listener.socket.get(), options);
  say.step("serving {} on the {} backend: {} threads, port concurrency {}, {}, {}", root, pool.backend(),
           pool.threads(), pool.concurrency(),
           pool.driver() == evq::port::Driver::pump ? "a pump thread at the ch04 queue"
                                                    : "the pool's threads taking turns at the ch04 queue",
           pool.completes_inline() ? "reads and writes completed at once when they can"
                                   : "every read and write through the queue");
  const std::string why = evq::serve_on_thread(
      ipv6, listener.port, seconds, [&] { server.run(); }, [&] { server.stop(); });
  say.step("{}: stopped accepting, finished what was under way", why);
  const auto st = server.stats();
  fmt::print("summary: accepted {}, closed {}, requests {}, errors {}, timeouts {}\n", st.accepted, st.closed,
             st.requests, st.errors, st.timeouts);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("http_server",
               "Chapter 7's HTTP/1.1 server: coroutines on chapter 5's port, serving a directory.");
  cli.option("backend", "epoll | kqueue | io_uring (or uring): the ch04 backend under the port",
             default_backend());
  cli.option("root", "the directory to serve", EVQ_CH07_WWW);
  cli.option("threads", "pool threads (0: twice the port's concurrency)", "0");
  cli.option(
      "concurrency",
      "the port's concurrency (0: the number of CPUs; 1 was fastest in the benchmark, its clients on the same CPUs)",
      "0");
  cli.option("idle-timeout-ms", "close a connection with no request under way after this long", "5000");
  cli.option("header-timeout-ms", "a request's head must arrive within this long of its first byte", "10000");
  cli.option(
      "spin-us",
      "how long a pool thread may spin before it sleeps (chapter 5's spin limit); 0: the clients share these CPUs, and a spinning thread takes theirs",
      "0");
  cli.flag(
      "inline",
      "complete a read or write at once when it can, without the queue (Pool::Options::complete_inline)");
  cli.option(
      "driver",
      "who waits on the ch04 queue: pump (a thread of its own) | callers (the pool's threads, in turns; "
      "not io_uring) | auto (callers where the backend allows)",
      "auto");
  evq::add_serve_options(cli);
  cli.parse(argc, argv);
  loopback::init();
  const std::string backend = cli.get("backend");
  if (std::string why = why_not_usable(backend); !why.empty()) cli.fail(why);
  if (cli.has("ipv6") && !cli.has("serve"))
    cli.fail("--ipv6 needs --serve: the tour's own clients use 127.0.0.1");
  std::error_code ec;
  if (!std::filesystem::is_directory(cli.get("root"), ec))
    cli.fail("--root: '" + cli.get("root") + "' is not a directory");
  evq::http::ServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(cli.get_int("idle-timeout-ms", 1, 3600000));
  options.header_timeout = std::chrono::milliseconds(cli.get_int("header-timeout-ms", 1, 3600000));
  evq::port::set_spin_limit(std::chrono::microseconds(cli.get_int("spin-us", 0, 1000)));
  std::optional<evq::port::Driver> driver;
  if (const std::string d = cli.get("driver"); d == "pump")
    driver = evq::port::Driver::pump;
  else if (d == "callers")
    driver = evq::port::Driver::callers;
  else if (d != "auto")
    cli.fail("--driver must be pump, callers or auto, not '" + d + "'");
  if (driver == evq::port::Driver::callers && !evq::port::PortIo::callers_can_drive(backend))
    cli.fail("--driver callers: the " + backend +
             " backend takes submissions from one thread only; use pump or auto");
  return cli.run([&] {
    if (cli.has("serve"))
      return serve(backend, cli.get("root"), cli.has("ipv6"), cli.get_int("seconds", 1, 86400), options,
                   evq::coro::Pool::Options{static_cast<unsigned>(cli.get_int("concurrency", 0, 256)),
                                            static_cast<unsigned>(cli.get_int("threads", 0, 1024)), "",
                                            cli.has("inline"), driver},
                   cli.has("quiet"));
    return tour(backend, cli.get("root"), cli.has("quiet")) ? 0 : 1;
  });
}
