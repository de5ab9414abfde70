#include <poll.h>
#include <sys/socket.h>

#include <stdexcept>

#include "evq/common/error.hpp"
#include "evq/common/net.hpp"
#include "peer.hpp"

namespace evq::completion::test {

namespace {
OwnedSocket with_timeout(OwnedSocket s) {
  timeval tv{10, 0};
  evq::check(::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), "setsockopt(SO_RCVTIMEO)");
  return s;
}
}  // namespace

void init_sockets() {}

Listener listen_loopback(int backlog) {
  Listener l;
  l.socket = evq::listen_loopback(evq::Family::v4, backlog);
  l.port = evq::local_port(l.socket.get());
  return l;
}

OwnedSocket connect_blocking(std::uint16_t port) { return with_timeout(evq::connect_loopback(port)); }

OwnedSocket accept_blocking(NativeSocket listener) {
  OwnedSocket s = evq::accept_connection(listener);
  if (!s) throw std::runtime_error("accept_blocking: the connection was gone before accept");
  return with_timeout(std::move(s));
}

OwnedSocket new_tcp_socket() {
  return OwnedSocket(evq::check(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket"));
}

Pair tcp_pair() {
  auto [client, server] = evq::tcp_pair();
  return {with_timeout(std::move(client)), std::move(server)};
}

std::uint16_t refused_port() {
  Listener l = listen_loopback(1);
  return l.port;  // closed when l goes out of scope; nothing listens there any more
}

void send_all(NativeSocket s, std::string_view text) { evq::write_all(s, text); }
std::string recv_exact(NativeSocket s, std::size_t n) { return evq::read_exact(s, n); }
void half_close(NativeSocket s) { evq::shutdown_write(s); }
void reset_on_close(NativeSocket s) { evq::set_linger_reset(s); }

bool readable_within(NativeSocket s, int ms) {
  pollfd p{s, POLLIN, 0};
  return evq::check(::poll(&p, 1, ms), "poll") > 0;
}

}  // namespace evq::completion::test
