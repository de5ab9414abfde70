// The attackers: small loopback clients that behave the way real ones do, well or badly.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "evq/common/unique_fd.hpp"
#include "server_process.hpp"

namespace evq::hostile {

// A blocking connection to the server, with 10 s send and receive timeouts, so a server that stops
// answering fails the case instead of hanging it.
UniqueFd connect_to(const ServerProcess& server);

// Sends `message` and reads the same number of bytes back. Returns "" if the echo matched,
// otherwise what went wrong, in words.
std::string echo_round_trip(int fd, std::string_view message);

// A fresh client that connects, echoes one message and closes: "" if that worked.
std::string newcomer_is_served(const ServerProcess& server);

// `n` bytes that are not text: every byte value, NULs and CR LF included, in a fixed order.
std::string garbage(std::size_t n);

// Raises this process's RLIMIT_NOFILE soft limit to at least `n` (up to the hard limit); returns
// the limit now in force.
unsigned long raise_open_file_limit(unsigned long n);

// Waits until the server has exactly `count` descriptors open; returns the last count seen.
std::optional<int> wait_for_fd_count(const ServerProcess& server, int count,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace evq::hostile
