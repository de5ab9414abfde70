// An HTTP/1.1 request as the parser hands it over, and the errors it can end with.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace evq::http {

struct Header {
  std::string name;   // as the client spelled it; compare with iequals()
  std::string value;  // leading and trailing spaces and tabs removed
};

struct Request {
  std::string method;     // "GET", "HEAD", ...: case-sensitive, as RFC 9110 says
  std::string target;     // the origin-form target: "/path?query"
  int minor_version = 1;  // HTTP/1.0 or HTTP/1.1
  std::vector<Header> headers;
  std::string body;        // Content-Length or chunked, decoded
  bool keep_alive = true;  // whether the connection may carry another request after this one

  // The first header of that name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

// Why a request was refused, as the status the server answers with.
struct ParseError {
  int status = 400;    // 400, 413, 431, 501 or 505
  std::string reason;  // for the response body and the logs: what exactly was wrong
};

bool iequals(std::string_view a, std::string_view b);

}  // namespace evq::http
