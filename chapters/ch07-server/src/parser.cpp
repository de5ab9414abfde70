#include "evq/http/parser.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>

namespace evq::http {

namespace {

// RFC 9110's tchar: the characters of a token (a method, a header name).
bool is_tchar(unsigned char c) {
  if (std::isalnum(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); });
}

// A field value may hold visible characters, spaces, tabs and obs-text; no other control byte.
bool is_field_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && c != '\t') || c == 0x7f;
  });
}

// A request target in origin-form: '/' then visible ASCII (no spaces, no controls).
bool is_origin_form(std::string_view s) {
  if (s.empty() || s[0] != '/') return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c > 0x20 && c < 0x7f;
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Digits only, no sign, no spaces; false on overflow.
bool parse_decimal(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    if (v > (std::numeric_limits<std::uint64_t>::max() - 9) / 10) return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

// Whether the comma-separated list `value` holds `token` (case-insensitive): Connection: close.
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

const std::string* Request::header(std::string_view name) const {
  for (const Header& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

RequestParser::RequestParser(Limits limits) : limits_(limits) {}

void RequestParser::feed(std::string_view bytes) {
  if (!failed_) buffer_.append(bytes);
}

RequestParser::Result RequestParser::fail(int status, std::string reason) {
  failed_ = true;
  error_ = ParseError{status, std::move(reason)};
  buffer_.clear();
  start_ = 0;
  return Result::error;
}

void RequestParser::compact() {
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  } else if (start_ > 4096) {  // keep the pipelined rest; drop what was parsed
    buffer_.erase(0, start_);
    start_ = 0;
  }
}

namespace {
// Empties a request but keeps what its strings and vector have allocated.
void start_over(Request& r) {
  r.method.clear();
  r.target.clear();
  r.minor_version = 1;
  r.headers.clear();
  r.body.clear();
  r.keep_alive = true;
}
}  // namespace

// [snippet parser-next]
RequestParser::Result RequestParser::next(Request& out) {
  if (failed_) return Result::error;
  if (state_ == State::head) {
    // RFC 9112 asks a server to ignore empty lines before a request line (some clients send a CRLF
    // after a body).
    while (buffer_.compare(start_, 2, "\r\n") == 0) start_ += 2;
    const std::string_view rest = std::string_view(buffer_).substr(start_);
    const std::size_t lf = rest.find('\n');
    if (lf != std::string_view::npos) {
      // Every line of the head must end in CRLF: a bare LF is refused at once, not left to time out.
      for (std::size_t at = lf; at != std::string_view::npos; at = rest.find('\n', at + 1)) {
        if (at == 0 || rest[at - 1] != '\r') return fail(400, "a line ends in a bare LF, not CRLF");
        if (rest.compare(at + 1, 2, "\r\n") == 0) break;  // the end of the head: the body may hold any byte
      }
    }
    const std::size_t end = rest.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (rest.size() > limits_.max_head_bytes)
        return fail(
            431, "the request line and headers exceed " + std::to_string(limits_.max_head_bytes) + " bytes");
      return Result::need_more;
    }
    if (end + 4 > limits_.max_head_bytes)
      return fail(431,
                  "the request line and headers exceed " + std::to_string(limits_.max_head_bytes) + " bytes");
    start_ += end + 4;
    start_over(current_);
    if (parse_head(rest.substr(0, end + 2), current_) == Result::error) return Result::error;
  }
  if (state_ != State::head && parse_body(current_) != Result::request)
    return failed_ ? Result::error : Result::need_more;
  // Swapped, not moved: `out`'s old strings and header list come back to be filled by the next
  // request, so a caller that keeps one Request allocates nothing per request in the steady state.
  std::swap(out, current_);
  start_over(current_);
  state_ = State::head;
  compact();
  return Result::request;
}
// [/snippet parser-next]

// `head`: the request line and the header lines, each with its CRLF.
RequestParser::Result RequestParser::parse_head(std::string_view head, Request& out) {
  std::size_t eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  head.remove_prefix(eol + 2);

  // The request line: method SP target SP version, exactly.
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(400, "the request line is not 'METHOD target HTTP/1.1'");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return fail(400, "the method is not a token");
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" ||
      !std::isdigit(static_cast<unsigned char>(version[5])) || version[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(version[7])))
    return fail(400, "the version is not HTTP/x.y");
  if (version[5] != '1') return fail(505, "only HTTP/1.0 and HTTP/1.1 are served here");
  if (!is_origin_form(target)) return fail(400, "the target must be a path starting with '/'");
  out.method = method;
  out.target = target;
  out.minor_version = version[7] == '0' ? 0 : 1;  // HTTP/1.2 and later minors: as 1.1 (RFC 9110, 2.5)

  // The header fields.
  int hosts = 0;
  bool chunked = false, have_length = false;
  std::uint64_t length = 0;
  while (!head.empty()) {
    eol = head.find("\r\n");
    const std::string_view field = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    if (field.front() == ' ' || field.front() == '\t') return fail(400, "obsolete line folding in a header");
    const std::size_t colon = field.find(':');
    if (colon == std::string_view::npos) return fail(400, "a header line has no ':'");
    const std::string_view name = field.substr(0, colon);
    const std::string_view value = trim(field.substr(colon + 1));
    if (!is_token(name)) return fail(400, "a header name is not a token (a space before the ':'?)");
    if (!is_field_value(value)) return fail(400, "a header value holds a control character");
    if (iequals(name, "host")) {
      ++hosts;
    } else if (iequals(name, "content-length")) {
      std::uint64_t v = 0;
      if (!parse_decimal(value, v)) return fail(400, "Content-Length is not a number");
      if (have_length && v != length) return fail(400, "two Content-Length headers that differ");
      have_length = true;
      length = v;
    } else if (iequals(name, "transfer-encoding")) {
      if (!iequals(value, "chunked")) return fail(501, "only Transfer-Encoding: chunked is supported");
      if (chunked) return fail(400, "Transfer-Encoding: chunked twice");
      chunked = true;
    } else if (iequals(name, "connection")) {
      if (has_token(value, "close")) out.keep_alive = false;
    }
    out.headers.push_back(Header{std::string(name), std::string(value)});
  }
  if (out.minor_version == 1 && hosts != 1)
    return fail(400, "an HTTP/1.1 request needs exactly one Host header");
  if (hosts > 1) return fail(400, "more than one Host header");
  if (chunked && have_length)
    return fail(400, "both Content-Length and Transfer-Encoding (request smuggling?)");
  if (out.minor_version == 0) {  // HTTP/1.0 closes unless it asks to stay
    const std::string* c = out.header("connection");
    out.keep_alive = c && has_token(*c, "keep-alive");
  }
  if (length > limits_.max_body_bytes)
    return fail(413, "the body exceeds " + std::to_string(limits_.max_body_bytes) + " bytes");
  if (chunked) {
    state_ = State::chunk_size;
  } else if (length > 0) {
    state_ = State::body_length;
    remaining_ = static_cast<std::size_t>(length);
  }
  return Result::request;
}

bool RequestParser::take_line(std::string_view& line, bool& bad) {
  const std::size_t lf = buffer_.find('\n', start_);
  if (lf == std::string::npos) return false;
  if (lf == start_ || buffer_[lf - 1] != '\r') {
    bad = true;
    return false;
  }
  line = std::string_view(buffer_).substr(start_, lf - 1 - start_);
  start_ = lf + 1;
  return true;
}

// [snippet parser-body]
RequestParser::Result RequestParser::parse_body(Request& out) {
  for (;;) {
    std::string_view line;
    bool bad = false;
    switch (state_) {
      case State::head:
        return Result::request;
      case State::body_length:
      case State::chunk_data: {
        const std::size_t n = std::min(remaining_, buffered());
        out.body.append(buffer_, start_, n);
        start_ += n;
        remaining_ -= n;
        if (remaining_ > 0) return Result::need_more;
        state_ = state_ == State::body_length ? State::head : State::chunk_end;
        break;
      }
      case State::chunk_size: {
        if (!take_line(line, bad)) {
          if (bad) return fail(400, "a chunk-size line ends in a bare LF");
          if (buffered() > 1024) return fail(400, "a chunk-size line longer than 1024 bytes");
          return Result::need_more;
        }
        if (line.size() > 1024) return fail(400, "a chunk-size line longer than 1024 bytes");
        const std::string_view digits = line.substr(0, line.find(';'));  // chunk extensions: skipped
        std::uint64_t size = 0;
        std::size_t i = 0;
        for (; i < digits.size() && std::isxdigit(static_cast<unsigned char>(digits[i])); ++i) {
          if (size > (limits_.max_body_bytes >> 4)) return fail(413, "a chunk larger than the body limit");
          size = size * 16 + static_cast<std::uint64_t>(
                                 std::isdigit(static_cast<unsigned char>(digits[i]))
                                     ? digits[i] - '0'
                                     : std::tolower(static_cast<unsigned char>(digits[i])) - 'a' + 10);
        }
        if (i == 0 || !trim(digits.substr(i)).empty()) return fail(400, "a chunk size is not hexadecimal");
        if (out.body.size() + size > limits_.max_body_bytes)
          return fail(413, "the body exceeds " + std::to_string(limits_.max_body_bytes) + " bytes");
        if (size == 0) {
          state_ = State::trailers;
        } else {
          remaining_ = static_cast<std::size_t>(size);
          state_ = State::chunk_data;
        }
        break;
      }
      case State::chunk_end:
        if (buffered() < 2) return Result::need_more;
        if (buffer_.compare(start_, 2, "\r\n") != 0) return fail(400, "chunk data is not followed by CRLF");
        start_ += 2;
        state_ = State::chunk_size;
        break;
      case State::trailers:
        if (!take_line(line, bad)) {
          if (bad) return fail(400, "a trailer line ends in a bare LF");
          if (buffered() > limits_.max_head_bytes) return fail(431, "the trailers are too large");
          return Result::need_more;
        }
        if (line.size() > limits_.max_head_bytes) return fail(431, "the trailers are too large");
        if (line.empty()) {
          state_ = State::head;
          return Result::request;
        }
        if (const std::size_t colon = line.find(':');
            colon == std::string_view::npos || !is_token(line.substr(0, colon)))
          return fail(400, "a trailer line is not a header field");
        break;  // trailer fields are read and dropped
    }
  }
}
// [/snippet parser-body]

}  // namespace evq::http
