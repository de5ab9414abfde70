// The socket vocabulary the completion interface speaks on every platform.
//
// A POSIX socket is an int; a Windows SOCKET is an unsigned pointer-sized handle. The interface takes
// a NativeSocket (borrowed: the caller owns it) and hands accepted sockets back as an OwnedSocket
// (RAII: the caller now owns it). An Endpoint is an address to connect to; this project only ever
// builds loopback ones (127.0.0.1 or ::1).
#pragma once

#include <cstdint>

#ifdef _WIN32
#include "evq/common/win32.hpp"
#else
#include <sys/socket.h>

#include "evq/common/unique_fd.hpp"
#endif

namespace evq::completion {

#ifdef _WIN32
using NativeSocket = SOCKET;
inline constexpr NativeSocket kNoSocket = INVALID_SOCKET;
using OwnedSocket = evq::UniqueSocket;  // closesocket() once; from ch01's common/win32.hpp
#else
using NativeSocket = int;
inline constexpr NativeSocket kNoSocket = -1;
using OwnedSocket = evq::UniqueFd;
#endif

// An address to connect to. Only loopback addresses are ever made (the project's network rule).
struct Endpoint {
  sockaddr_storage storage{};
  socklen_t length = 0;

  static Endpoint loopback(std::uint16_t port, bool ipv6 = false);
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
};

}  // namespace evq::completion
