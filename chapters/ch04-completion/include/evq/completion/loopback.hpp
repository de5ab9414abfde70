// Blocking loopback sockets for the demos, the benchmark's clients and the tests' peers, on POSIX and Windows alike
// (they forward to evq/common/net.hpp or evq/common/win32.hpp). 127.0.0.1 and port 0 only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "evq/completion/socket.hpp"

namespace evq::completion::loopback {

// Starts WinSock on Windows (for the life of the program); nothing on POSIX.
void init();

struct Listener {
  OwnedSocket socket;
  std::uint16_t port = 0;
};
// On 127.0.0.1, or ::1 with `ipv6`.
Listener listen(int backlog = 512, bool ipv6 = false);
struct Pair {
  OwnedSocket client, server;
};
Pair connected_pair();                    // both ends blocking
OwnedSocket connect(std::uint16_t port);  // blocking, TCP_NODELAY, 10 s receive timeout
void send_all(NativeSocket s, std::string_view data);
std::string recv_exact(NativeSocket s, std::size_t n);  // shorter only at end of stream
void half_close(NativeSocket s);          // shutdown(SHUT_WR / SD_SEND): the other side reads end of stream
void reset_on_close(NativeSocket s);      // SO_LINGER {1, 0}: closing the socket then sends RST
long long socket_number(NativeSocket s);  // for narration: "fd 5" / "socket 0x1a4"

}  // namespace evq::completion::loopback
