#include "evq/http/response.hpp"

#include <chrono>
#include <ctime>

namespace evq::http {

std::string_view status_text(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

namespace {
// The Date header's value (RFC 9110's IMF-fixdate), formatted once per second per thread: a pool
// thread answers many requests a second, and strftime is not free.
std::string_view http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local char text[40] = {};
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm utc{};
#ifdef _WIN32
    gmtime_s(&utc, &now);
#else
    gmtime_r(&now, &utc);
#endif
    std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
    cached_second = now;
  }
  return text;
}
}  // namespace

// [snippet append-response]
void append_to(std::string& out, const Response& r) {
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += status_text(r.status);
  out += "\r\nServer: evq-ch07\r\nDate: ";
  out += http_date();
  out += "\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  // HTTP/1.1 keeps a connection unless told otherwise; an HTTP/1.0 client (ab, for one) closes
  // unless the response says "keep-alive", and would wait for our close for ever otherwise.
  out += !r.keep_alive ? "\r\nConnection: close\r\n"
         : r.to_http10 ? "\r\nConnection: keep-alive\r\n"
                       : "\r\n";
  out += r.extra_headers;
  out += "\r\n";
  if (!r.head_only) out += r.body;
}
// [/snippet append-response]

void append_error(std::string& out, int status, std::string_view why, bool keep_alive, bool to_http10) {
  std::string body =
      std::to_string(status) + " " + std::string(status_text(status)) + ": " + std::string(why) + "\n";
  Response r;
  r.status = status;
  r.body = body;
  r.keep_alive = keep_alive;
  r.to_http10 = to_http10;
  r.extra_headers = status == 405 ? "Allow: GET, HEAD, POST\r\n" : "";
  append_to(out, r);
}

}  // namespace evq::http
