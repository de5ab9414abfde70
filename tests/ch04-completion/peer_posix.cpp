#include <poll.h>
#include <sys/socket.h>

#include <stdexcept>

#include "evq/common/error.hpp"
#include "evq/common/net.hpp"
#include "peer.hpp"

namespace evq::completion::test {

namespace {
OwnedSocket with_timeout(OwnedSocket s) {
  evq::set_receive_timeout(s.get(), 10'000);
  return s;
}
}  // namespace

OwnedSocket accept_blocking(NativeSocket listener) {
  OwnedSocket s = evq::accept_connection(listener);
  if (!s) throw std::runtime_error("accept_blocking: the connection was gone before accept");
  return with_timeout(std::move(s));
}

OwnedSocket new_tcp_socket() {
  return evq::tcp_socket(evq::Family::v4);
}

Pair tcp_pair() {
  Pair p = loopback::connected_pair();
  p.client = with_timeout(std::move(p.client));
  return p;
}

std::uint16_t refused_port() {
  Listener l = loopback::listen(1);
  return l.port;  // closed when l goes out of scope; nothing listens there any more
}

bool readable_within(NativeSocket s, int ms) {
  pollfd p{s, POLLIN, 0};
  return evq::check(::poll(&p, 1, ms), "poll") > 0;
}

}  // namespace evq::completion::test
