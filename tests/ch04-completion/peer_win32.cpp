#include <stdexcept>

#include "evq/common/win32.hpp"
#include "peer.hpp"

namespace evq::completion::test {

void init_sockets() { static evq::WsaSession session; }

Listener listen_loopback(int backlog) {
  init_sockets();
  Listener l;
  l.socket = evq::listen_loopback_socket(backlog);
  l.port = evq::socket_port(l.socket.get());
  return l;
}

OwnedSocket connect_blocking(std::uint16_t port) {
  OwnedSocket s = evq::connect_loopback_socket(port);
  evq::set_receive_timeout(s.get(), 10000);
  return s;
}

OwnedSocket accept_blocking(NativeSocket listener) {
  SOCKET s = ::accept(listener, nullptr, nullptr);
  if (s == INVALID_SOCKET) evq::throw_wsa_error("accept");
  OwnedSocket owned(s);
  evq::set_receive_timeout(owned.get(), 10000);
  return owned;
}

OwnedSocket new_tcp_socket() { return evq::overlapped_tcp_socket(); }

Pair tcp_pair() {
  init_sockets();
  evq::SocketPair p = evq::socket_pair();
  evq::set_receive_timeout(p.client.get(), 10000);
  return {std::move(p.client), std::move(p.server)};
}

std::uint16_t refused_port() {
  Listener l = listen_loopback(1);
  return l.port;
}

void send_all(NativeSocket s, std::string_view text) { evq::send_all(s, text); }
std::string recv_exact(NativeSocket s, std::size_t n) { return evq::recv_exact(s, n); }
void half_close(NativeSocket s) { evq::shutdown_send(s); }
void reset_on_close(NativeSocket s) { evq::set_linger_reset(s); }

bool readable_within(NativeSocket s, int ms) {
  WSAPOLLFD p{s, POLLRDNORM, 0};
  int n = ::WSAPoll(&p, 1, ms);
  if (n == SOCKET_ERROR) evq::throw_wsa_error("WSAPoll");
  return n > 0;
}

}  // namespace evq::completion::test
