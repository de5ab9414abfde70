#include "evq/http/server.hpp"

#include <algorithm>
#include <vector>

#include "evq/http/response.hpp"

namespace evq::http {

using completion::is_aborted;
using coro::AcceptResult;
using coro::IoResult;
using coro::Task;
using Clock = std::chrono::steady_clock;

namespace {
// The responses to one read's requests are written at once, up to this much; a client that
// pipelines more gets the rest after that write (so one burst cannot make the server buffer
// without bound).
constexpr std::size_t kMaxOutput = 256 * 1024;
}  // namespace

HttpServer::HttpServer(coro::Pool& pool, coro::NativeSocket listener, ServerOptions options)
    : pool_(pool),
      listener_(listener),
      options_(std::move(options)),
      files_(options_.root),
      accept_scope_(pool),
      idle_scope_(pool),
      busy_scope_(pool) {
  pool_.associate(listener_);
}

// [snippet accept-loop]
void HttpServer::run() {
  for (unsigned i = 0; i < std::max(1u, options_.accepts_in_flight); ++i) pool_.spawn(accept_loop());
  pool_.join();
}

void HttpServer::stop() {
  if (stopping_.exchange(true)) return;
  // Spawned first, so that join() in run() waits for it: were the accept and the last connection to
  // end before it was spawned, run() could return and the pool go with this task still to run.
  pool_.spawn(stop_after_grace());
  accept_scope_.cancel();  // no new connections
  idle_scope_.cancel();    // connections between requests close now
}

// [snippet stop-after-grace]
// Requests under way get `grace` to finish; then their reads and writes are cancelled too.
Task<void> HttpServer::stop_after_grace() {
  const auto deadline = Clock::now() + options_.grace;
  while (open_.load() > 0 && Clock::now() < deadline) co_await pool_.sleep_for(std::chrono::milliseconds(20));
  busy_scope_.cancel();
}
// [/snippet stop-after-grace]

HttpServer::Stats HttpServer::stats() const {
  return {accepted_.load(), closed_.load(),   requests_.load(),
          errors_.load(),   timeouts_.load(), accept_pauses_.load()};
}

Task<void> HttpServer::accept_loop() {
  for (;;) {
    AcceptResult a = co_await pool_.accept_one(listener_).in(accept_scope_);
    if (a.error) {
      if (is_aborted(a.error)) co_return;          // stop()
      if (completion::is_machine_full(a.error)) {  // EMFILE and friends: pause, or spin for ever
        accept_pauses_.fetch_add(1);
        co_await pool_.sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    accepted_.fetch_add(1);
    open_.fetch_add(1);
    pool_.spawn(connection(std::move(a.socket)));
  }
}
// [/snippet accept-loop]

// [snippet http-connection]
Task<void> HttpServer::connection(coro::OwnedSocket sock) {
  const coro::NativeSocket s = sock.get();
  RequestParser parser(options_.limits);
  std::vector<std::byte> input(16 * 1024);  // lent at each read, as chapter 4's contract says
  std::string output;                       // lent at each write
  Clock::time_point head_deadline{};
  bool more_buffered = false;  // complete requests still in the parser after a full output
  Request request;             // kept across requests: the parser reuses what it allocated
  for (;;) {
    output.clear();
    if (!more_buffered) {
      IoResult r;
      if (!parser.mid_request()) {  // between requests: the idle timeout, and stop() ends it
        r = co_await pool_.read_for(s, input, options_.idle_timeout).in(idle_scope_);
        if (is_aborted(r.error)) {
          if (!stopping_) timeouts_.fetch_add(1);
          break;
        }
        head_deadline = Clock::now() + options_.header_timeout;
      } else {  // a request has begun: its head must be in by the deadline, a body must not stall
        const auto left =
            parser.in_body()
                ? options_.idle_timeout
                : std::chrono::duration_cast<std::chrono::milliseconds>(head_deadline - Clock::now());
        r = co_await pool_.read_for(s, input, std::max(left, std::chrono::milliseconds(1))).in(busy_scope_);
        if (is_aborted(r.error)) {
          if (busy_scope_.cancelled()) break;  // stop()'s grace is over
          timeouts_.fetch_add(1);
          append_error(output, 408,
                       parser.in_body() ? "the body stalled" : "the request's head took too long");
          co_await pool_.write(s, std::as_bytes(std::span(output))).in(busy_scope_);
          break;
        }
      }
      if (r.error) {
        errors_.fetch_add(1);  // a reset, mostly
        break;
      }
      if (r.end_of_stream()) break;  // the client closed (in the middle of a request or not)
      parser.feed(std::string_view(reinterpret_cast<const char*>(input.data()), r.bytes));
    }
    // Every complete request that came, answered in order: pipelining.
    bool close_after = false;
    more_buffered = false;
    for (;;) {
      if (output.size() >= kMaxOutput) {
        more_buffered = true;
        break;
      }
      const RequestParser::Result res = parser.next(request);
      if (res == RequestParser::Result::need_more) break;
      if (res == RequestParser::Result::error) {
        errors_.fetch_add(1);
        append_error(output, parser.error().status, parser.error().reason);
        close_after = true;
        break;
      }
      requests_.fetch_add(1);
      if (!respond(request, output)) {
        close_after = true;
        break;
      }
    }
    if (!output.empty()) {
      IoResult w = co_await pool_.write(s, std::as_bytes(std::span(output))).in(busy_scope_);
      if (w.error) break;
    }
    if (close_after) break;
  }
  closed_.fetch_add(1);
  open_.fetch_sub(1);
  pool_.close(std::move(sock));  // after the last completion on it: nothing is pending now
}
// [/snippet http-connection]

// [snippet respond]
bool HttpServer::respond(const Request& req, std::string& out) {
  const bool keep = req.keep_alive && !stopping_;  // after stop(), every response closes
  const bool old = req.minor_version == 0;
  const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
  if (req.method == "POST") {
    if (path != "/echo") {
      append_error(out, 405, "only /echo takes a POST", keep, old);
      return keep;
    }
    Response r;
    r.content_type = "application/octet-stream";
    r.body = req.body;
    r.keep_alive = keep;
    r.to_http10 = old;
    append_to(out, r);
    return keep;
  }
  if (req.method != "GET" && req.method != "HEAD") {
    append_error(out, 405, "this server answers GET, HEAD, and POST /echo", keep, old);
    return keep;
  }
  const StaticFiles::Found found = files_.find(req.target);
  if (found.status != 200) {
    append_error(out, found.status, found.why, keep, old);
    return keep;
  }
  Response r;
  r.content_type = found.content_type;
  r.body = *found.body;  // `found` keeps the file alive until append_to() has copied it
  r.keep_alive = keep;
  r.to_http10 = old;
  r.head_only = req.method == "HEAD";
  append_to(out, r);
  return keep;
}
// [/snippet respond]

}  // namespace evq::http
