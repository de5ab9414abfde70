#include "evq/completion/socket.hpp"

#include <cstring>

#include "evq/completion/completion.hpp"

#ifndef _WIN32
#include <arpa/inet.h>
#include <netinet/in.h>
#endif

namespace evq::completion {

Endpoint Endpoint::loopback(std::uint16_t port, bool ipv6) {
  Endpoint e;
  if (!ipv6) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::memcpy(&e.storage, &sin, sizeof sin);
    e.length = sizeof sin;
  } else {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    sin6.sin6_addr = in6addr_loopback;
    std::memcpy(&e.storage, &sin6, sizeof sin6);
    e.length = sizeof sin6;
  }
  return e;
}

std::string_view to_string(Op op) {
  switch (op) {
    case Op::accept:
      return "accept";
    case Op::connect:
      return "connect";
    case Op::read:
      return "read";
    case Op::write:
      return "write";
    case Op::post:
      return "post";
  }
  return "?";
}

}  // namespace evq::completion
