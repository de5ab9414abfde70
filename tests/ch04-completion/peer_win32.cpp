#include <stdexcept>

#include "evq/common/win32.hpp"
#include "peer.hpp"

namespace evq::completion::test {

OwnedSocket accept_blocking(NativeSocket listener) {
  SOCKET s = ::accept(listener, nullptr, nullptr);
  if (s == INVALID_SOCKET) evq::throw_wsa_error("accept");
  OwnedSocket owned(s);
  evq::set_receive_timeout(owned.get(), 10000);
  return owned;
}

OwnedSocket new_tcp_socket() {
  return evq::overlapped_tcp_socket();
}

Pair tcp_pair() {
  Pair p = loopback::connected_pair();
  evq::set_receive_timeout(p.client.get(), 10000);
  return p;
}

std::uint16_t refused_port() {
  Listener l = loopback::listen(1);
  return l.port;
}

bool readable_within(NativeSocket s, int ms) {
  WSAPOLLFD p{s, POLLRDNORM, 0};
  int n = ::WSAPoll(&p, 1, ms);
  if (n == SOCKET_ERROR) evq::throw_wsa_error("WSAPoll");
  return n > 0;
}

}  // namespace evq::completion::test
