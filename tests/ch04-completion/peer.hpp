// Every blocking socket made here has a 10 s receive timeout, so a broken backend fails a test
// instead of hanging it.
//
// The other end of the conformance tests: plain blocking sockets, no queue involved, so a failure
// is the backend's. POSIX here forwards to evq/common/net.hpp; Windows has its own small WinSock
// versions in peer_win32.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "evq/completion/socket.hpp"

namespace evq::completion::test {

struct Listener {
  OwnedSocket socket;
  std::uint16_t port = 0;
};
struct Pair {
  OwnedSocket client;  // blocking, the test's side
  OwnedSocket server;  // the side the queue under test gets attached to
};

void init_sockets();  // WSAStartup on Windows; nothing on POSIX
Listener listen_loopback(int backlog = 128);
OwnedSocket connect_blocking(std::uint16_t port);
OwnedSocket accept_blocking(NativeSocket listener);  // with a receive timeout set, like every test socket
OwnedSocket new_tcp_socket();  // unconnected, for the queue's connect()
Pair tcp_pair();
// A loopback port that refuses connections (was just listened on, then closed).
std::uint16_t refused_port();

void send_all(NativeSocket s, std::string_view text);
std::string recv_exact(NativeSocket s, std::size_t n);  // shorter only at end of stream
void half_close(NativeSocket s);                        // shutdown(SHUT_WR): the peer reads EOF
void reset_on_close(NativeSocket s);                    // SO_LINGER {1, 0}: close() sends RST
// Waits up to `ms` for data; true if there was some (it stays unread).
bool readable_within(NativeSocket s, int ms);

}  // namespace evq::completion::test
