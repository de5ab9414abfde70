// RequestParser: HTTP/1.1 requests out of a byte stream, incrementally, one request at a time.
//
//   RequestParser parser;
//   parser.feed(bytes_just_read);               // whatever a read gave: part of a request, or several
//   Request req;
//   while (parser.next(req) == RequestParser::Result::request) handle(req);   // pipelining
//   if (parser.failed()) answer(parser.error().status);                     // then close
//
// What it accepts (RFC 9112, strictly, because a lenient parser is how request smuggling starts):
//  - a request line `METHOD SP origin-form SP HTTP/1.x CRLF` (HTTP/2 and later: 505);
//  - header fields `name: value CRLF`, no space before the colon, no obsolete line folding; the
//    head (request line and headers) at most Limits::max_head_bytes (else 431);
//  - HTTP/1.1 requires exactly one Host (else 400);
//  - a body by Content-Length (digits only; two that differ: 400) or by Transfer-Encoding: chunked
//    (chunk extensions skipped, trailers read and dropped); both at once: 400; any other transfer
//    coding: 501; a body over Limits::max_body_bytes: 413;
//  - lines end in CRLF; a bare LF is a 400 too.
// After an error the parser stays failed: the connection must answer and close, since where the
// next request would begin is unknown.
//
// Why not a library: Debian packages http-parser, whose upstream was archived in favour of llhttp,
// which Debian does not package for C; picohttpparser is not packaged either. So the chapter has its
// own, small and fuzzed (fuzz/fuzz_parser.cpp, run in CI with the corpus in fuzz/corpus/).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "evq/http/request.hpp"

namespace evq::http {

class RequestParser {
 public:
  struct Limits {
    std::size_t max_head_bytes = 8 * 1024;
    std::size_t max_body_bytes = 1024 * 1024;
  };
  enum class Result { need_more, request, error };

  explicit RequestParser(Limits limits);
  RequestParser() : RequestParser(Limits{}) {}

  // Appends what was read. Cheap: bytes are parsed by next().
  void feed(std::string_view bytes);
  // Parses the next request out of what was fed: `request` (written to `out`), `need_more`, or
  // `error` (see error()). Bytes after the request stay for the next call: pipelined requests.
  Result next(Request& out);

  bool failed() const { return failed_; }
  const ParseError& error() const { return error_; }
  // Whether some bytes of a request have arrived and it is not complete: the header timeout runs
  // then, the idle timeout otherwise.
  bool mid_request() const { return buffered() > 0 || state_ != State::head; }
  std::size_t buffered() const { return buffer_.size() - start_; }
  // Whether the head is in and the body is still coming.
  bool in_body() const { return state_ != State::head; }

 private:
  enum class State { head, body_length, chunk_size, chunk_data, chunk_end, trailers };
  Result fail(int status, std::string reason);
  Result parse_head(std::string_view head, Request& out);
  Result parse_body(Request& out);
  bool take_line(std::string_view& line, bool& bad);  // a CRLF-terminated line from the buffer
  void compact();

  Limits limits_;
  std::string buffer_;
  std::size_t start_ = 0;  // bytes of buffer_ already consumed
  State state_ = State::head;
  Request current_;
  std::size_t remaining_ = 0;  // body_length / chunk_data: bytes still to come
  bool failed_ = false;
  ParseError error_;
};

}  // namespace evq::http
