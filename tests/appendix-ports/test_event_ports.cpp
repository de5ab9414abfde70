// Event ports as illumos documents them (port_associate(3C), port_get(3C), port_send(3C),
// port_alert(3C)), run against the appendix's emulation over epoll. Each case is a rule that
// notes/appendix-ports.md compares with IOCP, epoll and kqueue.
#include <doctest/doctest.h>
#include <port.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "evq/common/net.hpp"
#include "evq/common/unique_fd.hpp"

namespace {

timespec ms(long n) {
  return timespec{n / 1000, (n % 1000) * 1'000'000};
}
const timespec kLong = ms(10'000);  // every wait has a deadline; a hang fails the test instead
const timespec kShort = ms(50);     // long enough to show that nothing comes

// A port, closed at the end of the test.
struct Port {
  evq::UniqueFd fd{::port_create()};
  Port() { REQUIRE_MESSAGE(fd.get() >= 0, std::string(event_port_emulation_why())); }
  int get() const { return fd.get(); }
};

std::string why() {
  return event_port_emulation_why();
}

void send_byte(int fd) {
  REQUIRE(::write(fd, "x", 1) == 1);
}

}  // namespace

TEST_CASE("an fd association fires once, then the fd is dissociated until associated again") {
  MESSAGE("running on the appendix's event-port EMULATION over epoll, not on illumos");
  Port port;
  evq::TcpPair pair = evq::tcp_pair();
  int token = 42;
  REQUIRE_MESSAGE(port_associate(port.get(), PORT_SOURCE_FD, pair.server.get(), POLLIN, &token) == 0, why());
  port_event_t pe{};
  CHECK(port_get(port.get(), &pe, &kShort) == -1);  // nothing to read yet
  CHECK(errno == ETIME);

  send_byte(pair.client.get());
  REQUIRE_MESSAGE(port_get(port.get(), &pe, &kLong) == 0, why());
  CHECK(pe.portev_source == PORT_SOURCE_FD);
  CHECK(pe.portev_object == static_cast<uintptr_t>(pair.server.get()));
  CHECK((pe.portev_events & POLLIN));
  CHECK(pe.portev_user == &token);

  // The byte is still unread, yet nothing more comes: the association was used up (one-shot).
  CHECK_MESSAGE(port_get(port.get(), &pe, &kShort) == -1, "an association fired twice");
  CHECK(port_dissociate(port.get(), PORT_SOURCE_FD, pair.server.get()) == -1);
  CHECK(errno == ENOENT);  // there is nothing left to dissociate

  // Associating again: the fd is still readable, so the event comes at once.
  REQUIRE(port_associate(port.get(), PORT_SOURCE_FD, pair.server.get(), POLLIN, &token) == 0);
  REQUIRE(port_get(port.get(), &pe, &kLong) == 0);
  CHECK(pe.portev_object == static_cast<uintptr_t>(pair.server.get()));
}

TEST_CASE("associating again replaces the events and the user pointer, and dissociate stops it") {
  Port port;
  evq::TcpPair pair = evq::tcp_pair();
  int first = 1, second = 2;
  REQUIRE(port_associate(port.get(), PORT_SOURCE_FD, pair.server.get(), POLLIN, &first) == 0);
  REQUIRE(port_associate(port.get(), PORT_SOURCE_FD, pair.server.get(), POLLOUT, &second) == 0);
  port_event_t pe{};
  REQUIRE(port_get(port.get(), &pe, &kLong) == 0);  // a fresh socket is writable at once
  CHECK((pe.portev_events & POLLOUT));
  CHECK(pe.portev_user == &second);

  REQUIRE(port_associate(port.get(), PORT_SOURCE_FD, pair.server.get(), POLLIN, &first) == 0);
  REQUIRE(port_dissociate(port.get(), PORT_SOURCE_FD, pair.server.get()) == 0);
  send_byte(pair.client.get());
  CHECK_MESSAGE(port_get(port.get(), &pe, &kShort) == -1, "a dissociated fd was reported");
}

TEST_CASE("port_send queues an event of the program's own, and wakes a thread blocked in port_get") {
  Port port;
  int payload = 7;
  std::atomic<bool> got{false};
  port_event_t pe{};
  std::thread waiter([&] {
    if (port_get(port.get(), &pe, &kLong) == 0) got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let it block (the test holds either way)
  REQUIRE(port_send(port.get(), 0x1234, &payload) == 0);
  waiter.join();
  REQUIRE(got);
  CHECK(pe.portev_source == PORT_SOURCE_USER);
  CHECK(pe.portev_events == 0x1234);
  CHECK(pe.portev_user == &payload);
  CHECK(pe.portev_object == static_cast<uintptr_t>(::getpid()));
}

TEST_CASE("port_getn waits for nget events, returns up to max, and with max 0 only counts") {
  Port port;
  int a = 1, b = 2, c = 3;
  for (int* p : {&a, &b, &c}) REQUIRE(port_send(port.get(), 0, p) == 0);
  unsigned nget = 0;
  REQUIRE(port_getn(port.get(), nullptr, 0, &nget, &kShort) == 0);
  CHECK(nget == 3);  // counted, not taken

  port_event_t list[8]{};
  nget = 2;
  REQUIRE(port_getn(port.get(), list, 8, &nget, &kLong) == 0);
  CHECK(nget == 3);                  // at least 2 were wanted; all 3 that were there came
  CHECK(list[0].portev_user == &a);  // user events in the order they were sent
  CHECK(list[2].portev_user == &c);

  // Asking for more than will come: the timeout passes, and what did come is still returned.
  REQUIRE(port_send(port.get(), 0, &a) == 0);
  nget = 2;
  CHECK(port_getn(port.get(), list, 8, &nget, &kShort) == -1);
  CHECK(errno == ETIME);
  CHECK(nget == 1);
  CHECK(list[0].portev_user == &a);
}

TEST_CASE("many fds, two threads: each event goes to exactly one of them") {
  Port port;
  std::vector<evq::TcpPair> pairs;
  for (int i = 0; i < 16; ++i) pairs.push_back(evq::tcp_pair());
  for (evq::TcpPair& p : pairs) {
    REQUIRE(port_associate(port.get(), PORT_SOURCE_FD, p.server.get(), POLLIN, nullptr) == 0);
    send_byte(p.client.get());
  }
  std::vector<uintptr_t> seen[2];
  std::thread threads[2];
  for (int t = 0; t < 2; ++t)
    threads[t] = std::thread([&, t] {
      port_event_t pe{};
      while (port_get(port.get(), &pe, &kShort) == 0) seen[t].push_back(pe.portev_object);
    });
  for (std::thread& t : threads) t.join();
  std::multiset<uintptr_t> all(seen[0].begin(), seen[0].end());
  all.insert(seen[1].begin(), seen[1].end());
  CHECK(all.size() == 16);  // none lost, none twice
  CHECK(std::set<uintptr_t>(all.begin(), all.end()).size() == 16);
}

TEST_CASE("port_alert makes every port_get return the alert at once, until it is cleared") {
  Port port;
  int why_alert = 9;
  std::atomic<int> alerted{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i)
    waiters.emplace_back([&] {
      port_event_t pe{};
      if (port_get(port.get(), &pe, &kLong) == 0 && pe.portev_source == PORT_SOURCE_ALERT &&
          pe.portev_user == &why_alert)
        ++alerted;
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(port_alert(port.get(), PORT_ALERT_SET, 1, &why_alert) == 0);
  for (std::thread& t : waiters) t.join();
  CHECK_MESSAGE(alerted == 3, "every blocked thread returns with the alert, not only one");
  port_event_t pe{};
  REQUIRE(port_get(port.get(), &pe, &kShort) == 0);  // still in alert mode: at once again
  CHECK(pe.portev_source == PORT_SOURCE_ALERT);
  CHECK(port_alert(port.get(), PORT_ALERT_UPDATE, 1, nullptr) == -1);
  CHECK(errno == EBUSY);  // UPDATE does not replace an alert that is set

  REQUIRE(port_alert(port.get(), PORT_ALERT_SET, 0, nullptr) == 0);  // events 0: cleared
  CHECK(port_get(port.get(), &pe, &kShort) == -1);
  CHECK(errno == ETIME);
}

TEST_CASE("bad arguments are refused with a reason: a non-port, a closed fd, an unemulated source") {
  Port port;
  evq::TcpPair pair = evq::tcp_pair();
  port_event_t pe{};
  CHECK(port_get(pair.server.get(), &pe, &kShort) == -1);
  CHECK(errno == EBADF);
  CHECK(port_associate(port.get(), PORT_SOURCE_FD, 100'000, POLLIN, nullptr) == -1);
  CHECK(errno == EBADF);
  CHECK(port_associate(port.get(), PORT_SOURCE_TIMER, 1, 0, nullptr) == -1);
  CHECK(errno == EINVAL);
  CHECK_MESSAGE(why().find("only PORT_SOURCE_FD") != std::string::npos, why());
  CHECK(port_alert(port.get(), 0x40, 1, nullptr) == -1);
  CHECK(errno == EINVAL);
}
