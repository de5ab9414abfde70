// What the benchmark's two peer servers share: the one response they serve (built once, from the
// file the benchmark names), and how they count complete requests in what a read brought.
//
// The peers are deliberately the smallest HTTP servers that answer wrk correctly: they read until a
// blank line, answer every request with the same prebuilt response, and keep every connection alive.
// They parse nothing else, look nothing up and format no Date: each request costs them less than it
// costs chapter 7's server (or nginx), which makes them a bar to measure against, not a fair fight.
#pragma once

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>

namespace evq::http::bench {

inline std::string prebuilt_response(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file);
  const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return "HTTP/1.1 200 OK\r\nServer: peer\r\nContent-Type: text/plain\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Consumes every complete request head in `pending` (requests without bodies: wrk's GETs) and
// returns how many there were.
inline int take_requests(std::string& pending) {
  int n = 0;
  std::size_t at = 0;
  for (std::size_t end; (end = pending.find("\r\n\r\n", at)) != std::string::npos; at = end + 4) ++n;
  pending.erase(0, at);
  return n;
}

}  // namespace evq::http::bench
