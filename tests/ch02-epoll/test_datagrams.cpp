// UDP under epoll: readiness means "a datagram is waiting", each recvfrom takes exactly one and
// says who sent it, and a datagram too long for the buffer is cut (MSG_TRUNC says by how much).
// The completion-port version of the same job is ch01's test_datagrams.cpp.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "ch02_test.hpp"
#include "evq/common/error.hpp"
#include "evq/common/unique_fd.hpp"

using namespace evq;
using namespace evq::epoll;
using namespace evq::epoll::test;

namespace {

// A non-blocking UDP socket on 127.0.0.1 or ::1, port 0.
UniqueFd udp_socket(int family) {
  UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  sockaddr_storage at{};
  socklen_t length = 0;
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&at);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    length = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&at);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof *a;
  }
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&at), length) == 0);
  return fd;
}

struct Address {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
};

Address address_of(int fd) {
  Address a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) == 0);
  return a;
}

std::uint16_t port_of(const Address& a) {
  return ntohs(a.storage.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_port
                                               : reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_port);
}

void send_to(int fd, const std::string& datagram, const Address& to) {
  REQUIRE(::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&to.storage),
                   to.length) == static_cast<ssize_t>(datagram.size()));
}

}  // namespace

TEST_CASE("a UDP socket is readable while a datagram waits, and each recvfrom takes one, with its sender") {
  for (int family : {AF_INET, AF_INET6}) {
    INFO((family == AF_INET ? "127.0.0.1" : "::1"));
    UniqueFd receiver = udp_socket(family);
    UniqueFd sender = udp_socket(family);
    Poll poll;
    poll.registry().add(receiver.get(), 1, EPOLLIN);  // level-triggered
    Events events(4);
    CHECK(poll.wait(events, 0ms) == 0);  // nothing sent yet

    const Address to = address_of(receiver.get());
    send_to(sender.get(), "first", to);
    send_to(sender.get(), "second, longer", to);
    for (const char* expected : {"first", "second, longer"}) {
      REQUIRE_MESSAGE(poll.wait(events, 10s) == 1, "still a datagram waiting: readable");
      char buffer[64];
      Address from;
      ssize_t n = ::recvfrom(receiver.get(), buffer, sizeof buffer, 0,
                             reinterpret_cast<sockaddr*>(&from.storage), &from.length);
      REQUIRE(n >= 0);
      // One datagram per call, never two glued together as a stream's bytes would be.
      CHECK(std::string(buffer, static_cast<std::size_t>(n)) == expected);
      CHECK(port_of(from) == port_of(address_of(sender.get())));
    }
    CHECK_MESSAGE(poll.wait(events, 0ms) == 0, "both datagrams taken: no longer readable");
    char buffer[8];
    CHECK(::recv(receiver.get(), buffer, sizeof buffer, 0) == -1);
    CHECK(errno == EAGAIN);
  }
}

TEST_CASE("a datagram longer than the buffer is cut, and MSG_TRUNC reports its real length") {
  UniqueFd receiver = udp_socket(AF_INET);
  UniqueFd sender = udp_socket(AF_INET);
  const std::string datagram = "longer than four bytes";
  send_to(sender.get(), datagram, address_of(receiver.get()));
  Poll poll;
  poll.registry().add(receiver.get(), 1, EPOLLIN);
  Events events(4);
  REQUIRE(poll.wait(events, 10s) == 1);
  char small[4];
  // With MSG_TRUNC Linux returns the datagram's full length even though only 4 bytes were copied.
  ssize_t n = ::recv(receiver.get(), small, sizeof small, MSG_TRUNC);
  CHECK(n == static_cast<ssize_t>(datagram.size()));
  CHECK(std::string(small, sizeof small) == "long");
  CHECK_MESSAGE(poll.wait(events, 0ms) == 0, "the rest of a cut datagram is gone, not left to read");
}
