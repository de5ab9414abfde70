#include "evq/completion/loopback.hpp"

#include <utility>

#ifdef _WIN32
#include "evq/common/win32.hpp"
#else
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "evq/common/error.hpp"
#include "evq/common/net.hpp"
#endif

namespace evq::completion::loopback {

#ifdef _WIN32
void init() {
  static evq::WsaSession session;
}

Listener listen(int backlog, bool ipv6) {
  init();
  Listener l;
  l.socket = evq::listen_loopback_socket(backlog, ipv6);
  l.port = evq::socket_port(l.socket.get());
  return l;
}

Pair connected_pair() {
  init();
  evq::SocketPair p = evq::socket_pair();
  return {std::move(p.client), std::move(p.server)};
}

OwnedSocket connect(std::uint16_t port) {
  init();
  OwnedSocket s = evq::connect_loopback_socket(port);
  BOOL one = TRUE;
  ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one), sizeof one);
  evq::set_receive_timeout(s.get(), 10000);
  return s;
}

void send_all(NativeSocket s, std::string_view data) {
  evq::send_all(s, data);
}
std::string recv_exact(NativeSocket s, std::size_t n) {
  return evq::recv_exact(s, n);
}
void half_close(NativeSocket s) {
  evq::shutdown_send(s);
}
void reset_on_close(NativeSocket s) {
  evq::set_linger_reset(s);
}
long long socket_number(NativeSocket s) {
  return static_cast<long long>(s);
}
#else
void init() {}

Listener listen(int backlog, bool ipv6) {
  Listener l;
  l.socket = evq::listen_loopback(ipv6 ? evq::Family::v6 : evq::Family::v4, backlog);
  l.port = evq::local_port(l.socket.get());
  return l;
}

Pair connected_pair() {
  evq::TcpPair p = evq::tcp_pair();
  return {std::move(p.client), std::move(p.server)};
}

OwnedSocket connect(std::uint16_t port) {
  OwnedSocket s = evq::connect_loopback(port);
  evq::set_nodelay(s.get());
  evq::set_receive_timeout(s.get(), 10'000);
  return s;
}

void send_all(NativeSocket s, std::string_view data) {
  evq::write_all(s, data);
}
std::string recv_exact(NativeSocket s, std::size_t n) {
  return evq::read_exact(s, n);
}
void half_close(NativeSocket s) {
  evq::shutdown_write(s);
}
void reset_on_close(NativeSocket s) {
  evq::set_linger_reset(s);
}
long long socket_number(NativeSocket s) {
  return s;
}
#endif

}  // namespace evq::completion::loopback
