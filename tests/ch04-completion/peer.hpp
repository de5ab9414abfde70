// The other end of the conformance tests: plain blocking sockets, no queue involved, so a failure
// is the backend's. The basics (listen, connect, send, receive, half-close, reset) are ch04's own loopback
// helpers; what only the tests need is here, for POSIX (peer_posix.cpp) and Windows
// (peer_win32.cpp). Every blocking socket made here has a 10 s receive timeout, so a broken backend
// fails a test instead of hanging it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "evq/completion/loopback.hpp"
#include "evq/completion/socket.hpp"

namespace evq::completion::test {

using loopback::half_close;
using loopback::Listener;
using loopback::Pair;
using loopback::recv_exact;
using loopback::reset_on_close;
using loopback::send_all;

OwnedSocket accept_blocking(NativeSocket listener);  // with a receive timeout set, like every test socket
OwnedSocket new_tcp_socket();                        // unconnected, for the queue's connect()
// client: the test's side, with the receive timeout; server: the side the queue under test gets.
Pair tcp_pair();
// A loopback port that refuses connections (was just listened on, then closed).
std::uint16_t refused_port();

// Waits up to `ms` for data; true if there was some (it stays unread).
bool readable_within(NativeSocket s, int ms);

}  // namespace evq::completion::test
