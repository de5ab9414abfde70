// UDP under kqueue: EVFILT_READ fires while a datagram waits, its data says how many bytes can be
// read, and each recvfrom takes one datagram with its sender. ch02's test_datagrams.cpp does the
// same over epoll, ch01's through a completion port.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "evq/common/unique_fd.hpp"
#include "kq_test.hpp"

using namespace evq::kq;
using namespace evq::kq::test;

namespace {

evq::UniqueFd udp_loopback() {
  evq::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM, 0));
  REQUIRE(fd);
  REQUIRE(::fcntl(fd.get(), F_SETFL, O_NONBLOCK) == 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
  return fd;
}

sockaddr_in address_of(int fd) {
  sockaddr_in a{};
  socklen_t length = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length) == 0);
  return a;
}

}  // namespace

TEST_CASE("EVFILT_READ on a UDP socket: one datagram per recvfrom, data at least the next one's length") {
  EVQ_KQ_PLATFORM_NOTE();
  evq::UniqueFd receiver = udp_loopback();
  evq::UniqueFd sender = udp_loopback();
  Kqueue kq;
  kq.apply(change(id(receiver.get()), EVFILT_READ, EV_ADD));  // level-triggered
  CHECK(count_pending(kq, id(receiver.get()), EVFILT_READ) == 0);

  const sockaddr_in to = address_of(receiver.get());
  for (const std::string d : {"first", "second, longer"})
    REQUIRE(::sendto(sender.get(), d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                     sizeof to) == static_cast<ssize_t>(d.size()));

  for (const std::string expected : {"first", "second, longer"}) {
    auto ev = wait_for(kq, id(receiver.get()), EVFILT_READ);
    REQUIRE_MESSAGE(ev, "a datagram waits, so the socket must be readable");
    // FreeBSD counts every waiting byte; Linux's FIONREAD, which the emulation reads, only the next
    // datagram's. Either way a reader with `data` bytes of room gets the next datagram whole.
    MESSAGE("data = " << ev->data << " with '" << expected << "' next");
    CHECK(ev->data >= static_cast<std::int64_t>(expected.size()));
    char buffer[64];
    sockaddr_in from{};
    socklen_t length = sizeof from;
    ssize_t n =
        ::recvfrom(receiver.get(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &length);
    REQUIRE(n >= 0);
    CHECK(std::string(buffer, static_cast<std::size_t>(n)) == expected);
    CHECK(from.sin_port == address_of(sender.get()).sin_port);
  }
  CHECK_MESSAGE(count_pending(kq, id(receiver.get()), EVFILT_READ) == 0, "both taken: no longer readable");
}
