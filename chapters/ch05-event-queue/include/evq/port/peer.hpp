// The client side of the port's socket demos and tests, on POSIX and Windows alike: the few things
// a loopback peer does beyond ch04's loopback helpers (connect, send, receive).
#pragma once

#include "evq/completion/loopback.hpp"
#include "evq/completion/socket.hpp"

#ifdef _WIN32
#include "evq/common/win32.hpp"
#else
#include "evq/common/net.hpp"
#endif

namespace evq::port::peer {

using completion::NativeSocket;
using completion::OwnedSocket;

// SO_LINGER {on, 0}: closing the socket then sends RST: a peer that resets.
inline void reset_on_close(NativeSocket s) { evq::set_linger_reset(s); }

// shutdown(SHUT_WR / SD_SEND): a half-close; the other side reads end of stream.
inline void half_close(NativeSocket s) {
#ifdef _WIN32
  evq::shutdown_send(s);
#else
  evq::shutdown_write(s);
#endif
}

// A connected loopback pair, both blocking.
struct Pair {
  OwnedSocket client, server;
};
inline Pair connected_pair() {
#ifdef _WIN32
  completion::loopback::init();
  evq::SocketPair p = evq::socket_pair();
#else
  evq::TcpPair p = evq::tcp_pair();
#endif
  return {std::move(p.client), std::move(p.server)};
}

}  // namespace evq::port::peer
