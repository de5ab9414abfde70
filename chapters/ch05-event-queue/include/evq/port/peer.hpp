// The client side of the port's socket demos and tests, on POSIX and Windows alike: ch04's loopback
// helpers, and a connected pair of blocking sockets.
#pragma once

#include "evq/completion/loopback.hpp"
#include "evq/completion/socket.hpp"

namespace evq::port::peer {

using completion::NativeSocket;
using completion::OwnedSocket;

using completion::loopback::half_close;      // the other side reads end of stream
using completion::loopback::reset_on_close;  // closing the socket then sends RST: a peer that resets

using completion::loopback::connected_pair;  // a connected loopback Pair, both ends blocking
using completion::loopback::Pair;

}  // namespace evq::port::peer
