// Responses: the bytes of a status line, headers and body, appended to a connection's output.
#pragma once

#include <string>
#include <string_view>

namespace evq::http {

// "OK", "Not Found", ...; "Unknown" for a status this server never sends.
std::string_view status_text(int status);

struct Response {
  int status = 200;
  std::string_view content_type = "text/plain";
  std::string_view body;           // not copied: it must live until append_to() returns
  std::string_view extra_headers;  // each "Name: value\r\n", e.g. "Allow: GET, HEAD\r\n"
  bool keep_alive = true;          // false: "Connection: close", and the server closes after it
  bool to_http10 = false;          // the request was HTTP/1.0: keeping alive must be said aloud
  bool head_only = false;          // HEAD: every header (Content-Length included), no body
};

// Appends the whole response, with Date, Server and Content-Length, to `out`.
void append_to(std::string& out, const Response& response);

// A plain-text error response: "404 Not Found: <why>\n", closing unless `keep_alive`.
void append_error(std::string& out, int status, std::string_view why, bool keep_alive = false,
                  bool to_http10 = false);

}  // namespace evq::http
