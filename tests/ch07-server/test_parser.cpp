// The request parser on its own: what RFC 9112 accepts, what it refuses and with which status,
// requests cut at every byte, and pipelined requests.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "evq/http/parser.hpp"

using evq::http::Request;
using evq::http::RequestParser;
using Result = evq::http::RequestParser::Result;

namespace {

// Feeds `bytes` in pieces of `step` bytes and collects every request (and the error, if any).
struct Parsed {
  std::vector<Request> requests;
  int error_status = 0;
  std::string error_reason;
};

Parsed parse(const std::string& bytes, std::size_t step = 1 << 20, RequestParser::Limits limits = {}) {
  RequestParser parser(limits);
  Parsed out;
  for (std::size_t at = 0; at < bytes.size(); at += step) {
    parser.feed(std::string_view(bytes).substr(at, step));
    Request r;
    Result res;
    while ((res = parser.next(r)) == Result::request) out.requests.push_back(r);
    if (res == Result::error) {
      out.error_status = parser.error().status;
      out.error_reason = parser.error().reason;
      break;
    }
  }
  return out;
}

int status_of(const std::string& bytes) {
  Parsed p = parse(bytes);
  INFO("reason: " << p.error_reason);
  return p.error_status;
}

}  // namespace

TEST_CASE("a simple GET: method, target, version, headers, keep-alive by default in HTTP/1.1") {
  Parsed p = parse("GET /index.html?x=1 HTTP/1.1\r\nHost: localhost\r\nUser-Agent:  curl/8 \r\n\r\n");
  REQUIRE(p.requests.size() == 1);
  const Request& r = p.requests[0];
  CHECK(r.method == "GET");
  CHECK(r.target == "/index.html?x=1");
  CHECK(r.minor_version == 1);
  CHECK(r.keep_alive);
  REQUIRE(r.header("user-agent") != nullptr);
  CHECK(*r.header("USER-AGENT") == "curl/8");  // names case-insensitive, values trimmed
  CHECK(r.header("accept") == nullptr);
}

TEST_CASE("keep-alive: Connection close ends HTTP/1.1, and HTTP/1.0 closes unless it asks to stay") {
  CHECK_FALSE(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").requests.at(0).keep_alive);
  CHECK_FALSE(parse("GET / HTTP/1.0\r\n\r\n").requests.at(0).keep_alive);
  CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").requests.at(0).keep_alive);
  CHECK_FALSE(
      parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, close\r\n\r\n").requests.at(0).keep_alive);
}

TEST_CASE("a request cut at every byte parses the same as in one piece") {
  const std::string req =
      "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
      "GET /next HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
  for (std::size_t step : {1, 2, 3, 7, 64, 4096}) {
    CAPTURE(step);
    Parsed p = parse(req, step);
    CHECK(p.error_status == 0);
    REQUIRE(p.requests.size() == 2);
    CHECK(p.requests[0].body == "hello world");
    CHECK(p.requests[1].target == "/next");
    CHECK(p.requests[1].body == "abc");
  }
}

TEST_CASE("pipelined requests in one read come out one by one, in order") {
  std::string bytes;
  for (int i = 0; i < 10; ++i) bytes += "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
  Parsed p = parse(bytes);
  REQUIRE(p.requests.size() == 10);
  for (int i = 0; i < 10; ++i) CHECK(p.requests[i].target == "/" + std::to_string(i));
}

TEST_CASE("malformed requests are refused with 400, and the reason says why") {
  CHECK(status_of("GET /\r\n\r\n") == 400);                                   // no version
  CHECK(status_of("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);              // two spaces
  CHECK(status_of("GET / HTTP/1.1\nHost: a\n\n") == 400);                     // bare LF
  CHECK(status_of("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == 400);              // space before ':'
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n") == 400);    // obs-fold
  CHECK(status_of("GET / HTTP/1.1\r\n\r\n") == 400);                          // no Host
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);    // two Hosts
  CHECK(status_of("GET http://x/ HTTP/1.1\r\nHost: a\r\n\r\n") == 400);       // not origin-form
  CHECK(status_of("G(T / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);               // method not a token
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n") == 400);  // control byte
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n") == 400);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n") == 400);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        400);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") == 400);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n") == 400);
}

TEST_CASE("limits: 431 for a head too large, 413 for a body too large, 505 and 501 for what is not served") {
  RequestParser::Limits small{256, 100};
  CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(300, 'x') + "\r\n\r\n", 1 << 20, small)
            .error_status == 431);
  // ... also when the head never ends: the parser does not wait for ever.
  CHECK(parse("GET / HTTP/1.1\r\nX: " + std::string(300, 'x'), 1 << 20, small).error_status == 431);
  CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n", 1 << 20, small).error_status ==
        413);
  CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n", 1 << 20, small)
            .error_status == 413);
  CHECK(status_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == 505);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n") == 501);
}

TEST_CASE("after an error the parser stays failed, and empty lines before a request are skipped") {
  RequestParser parser;
  parser.feed("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  Request r;
  CHECK(parser.next(r) == Result::request);
  CHECK_FALSE(parser.mid_request());
  parser.feed("GET / HTTP/1.1\r\nHost: a\r");
  CHECK(parser.next(r) == Result::need_more);
  CHECK(parser.mid_request());
  parser.feed("\nBAD\r\n\r\n");
  CHECK(parser.next(r) == Result::error);
  parser.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(parser.next(r) == Result::error);
  CHECK(parser.failed());
}
