// HttpServer: HTTP/1.1 on chapter 6's coroutines, on chapter 5's port and pool. One coroutine per
// connection, written as if its reads blocked:
//
//   for (;;) {                                     // the connection's whole story
//     read (idle timeout, or header timeout once a request has begun)
//     parse every complete request in what came (pipelining), append each response
//     write the responses (all of them, one write)
//     close if a response said "Connection: close", or on stop()
//   }
//
// What it serves: GET and HEAD of the files under `root` (StaticFiles: no escape by ".." or by a
// symlink), and POST /echo, which answers with the request's body (Content-Length or chunked);
// anything else is a 404 or a 405. Errors have bodies: 400, 404, 405, 408, 413, 431, 501, 505.
//
// Time limits: a connection with no request under way is closed after `idle_timeout`; a request
// whose head has not arrived `header_timeout` after its first byte gets 408 and is closed (a
// slowloris client that sends a byte a second holds nothing for long); a body that stalls for
// `idle_timeout` is dropped the same way.
//
// stop() is graceful: the listener stops accepting and idle connections close at once; a request
// under way is answered (with "Connection: close"); after `grace`, whatever is still running (a
// peer that never reads its response) is cancelled too. run() returns when every connection ended.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "evq/coro/pool.hpp"
#include "evq/http/parser.hpp"
#include "evq/http/static_files.hpp"

namespace evq::http {

struct ServerOptions {
  std::filesystem::path root = ".";
  std::chrono::milliseconds idle_timeout{5000};
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds grace{5000};
  RequestParser::Limits limits{};
  // Accepts kept in flight at once on the listener, as a Windows server posts several AcceptEx.
  // With one, each new connection waits for a whole trip through the port's queue behind every
  // busy connection's packets; a thousand clients connecting at once then waited seconds (wrk
  // counted timeouts) while the first ones were served.
  unsigned accepts_in_flight = 16;
};

class HttpServer {
 public:
  struct Stats {
    std::uint64_t accepted = 0, closed = 0, requests = 0, errors = 0, timeouts = 0, accept_pauses = 0;
  };

  // `listener` is a listening socket the caller owns and keeps open until the pool is destroyed.
  HttpServer(coro::Pool& pool, coro::NativeSocket listener, ServerOptions options);
  // Serves until stop(); returns once every connection's coroutine has ended. Not on a pool thread.
  void run();
  void stop();  // thread-safe
  Stats stats() const;

 private:
  coro::Task<void> accept_loop();
  coro::Task<void> connection(coro::OwnedSocket sock);
  coro::Task<void> stop_after_grace();
  // Appends the response to `req` to `out`; false if the connection must close after it.
  bool respond(const Request& req, std::string& out);

  coro::Pool& pool_;
  coro::NativeSocket listener_;
  ServerOptions options_;
  StaticFiles files_;
  coro::CancelScope accept_scope_;  // the listener's accept: cancelled by stop()
  coro::CancelScope idle_scope_;    // reads with no request under way: cancelled by stop()
  coro::CancelScope busy_scope_;    // everything else: cancelled `grace` after stop()
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> open_{0};
  std::atomic<std::uint64_t> accepted_{0}, closed_{0}, requests_{0}, errors_{0}, timeouts_{0},
      accept_pauses_{0};
};

}  // namespace evq::http
