// Sockets associated with a port: their I/O completes into it as packets carrying the socket's
// completion key; the echo server on the pool serves many clients and survives resetting peers.
#include <atomic>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "evq/completion/backends.hpp"
#include "evq/completion/loopback.hpp"
#include "evq/port/echo_server.hpp"
#include "evq/port/peer.hpp"
#include "evq/port/port_io.hpp"
#include "evq/test/support.hpp"
#include "usable_backends.hpp"
#ifdef _WIN32
#include "evq/common/win32.hpp"
#endif

using namespace std::chrono_literals;
using evq::port::Packet;
using evq::port::Port;
using evq::port::PortIo;
using evq::test::kDeadline;
using evq::test::usable_backends;
using evq::test::wait_until;
namespace loopback = evq::completion::loopback;
namespace peer = evq::port::peer;

// [snippet test-io-key]
TEST_CASE("a read on an associated socket completes into the port with the socket's key") {
  for (const std::string& backend : usable_backends()) {
    CAPTURE(backend);
    Port port(2);
    PortIo io(port, backend);
    peer::Pair pair = peer::connected_pair();
    std::vector<std::byte> buffer(64);
    io.associate(pair.server.get(), 77);    // CreateIoCompletionPort(socket, port, 77)
    io.read(pair.server.get(), buffer, 5);  // WSARecv with "OVERLAPPED" 5
    loopback::send_all(pair.client.get(), "abc");
    evq::port::GetResult r = port.get(kDeadline);
    REQUIRE(r.got());
    CHECK(r.packet.key == 77);
    CHECK(r.packet.user == 5);
    CHECK(r.packet.bytes == 3);
    CHECK_FALSE(r.packet.failed());
    CHECK(std::string(reinterpret_cast<const char*>(buffer.data()), 3) == "abc");
    io.close(std::move(pair.server));
  }
}
// [/snippet test-io-key]

TEST_CASE("a read on a socket the peer resets completes as a failed I/O packet, not a timeout") {
  for (const std::string& backend : usable_backends()) {
    CAPTURE(backend);
    Port port(1);
    PortIo io(port, backend);
    peer::Pair pair = peer::connected_pair();
    std::vector<std::byte> buffer(64);
    io.associate(pair.server.get(), 9);
    io.read(pair.server.get(), buffer, 1);
    peer::reset_on_close(pair.client.get());
    pair.client.reset();  // RST
    evq::port::GetResult r = port.get(kDeadline);
    REQUIRE(r.status == evq::port::Wait::packet);
    CHECK(r.packet.key == 9);
#ifdef __linux__
    if (backend == "kqueue" && !r.packet.failed()) {
      // ch03's kqueue emulation has been seen to report the reset as end of stream (EV_EOF with
      // no error in fflags), depending on timing; FreeBSD's kqueue reports ECONNRESET.
      MESSAGE("kqueue EMULATION: this reset read as end of stream, not as a failed read");
      CHECK(r.packet.bytes == 0);
      io.close(std::move(pair.server));
      continue;
    }
#endif
#ifdef _WIN32
    if (evq::wine_version() && !r.packet.failed()) {
      // Measured: under Wine 8 a WSARecv pending when the peer resets completes with 0 bytes and
      // no error (end of stream); Windows completes it with WSAECONNRESET.
      MESSAGE("host: Wine ", *evq::wine_version(), ": the reset completed the read as end of stream");
      CHECK(r.packet.bytes == 0);
      io.close(std::move(pair.server));
      continue;
    }
#endif
    CHECK_MESSAGE(r.packet.failed(), "a reset should fail the read (got ", r.packet.bytes, " bytes)");
    io.close(std::move(pair.server));
  }
}

// [snippet test-try-inline]
TEST_CASE("try_read takes what is already there, consumes nothing when nothing is, and loses no byte") {
  for (const std::string& backend : usable_backends()) {
    CAPTURE(backend);
    Port port(1);
    PortIo io(port, backend);
    peer::Pair pair = peer::connected_pair();
    io.associate(pair.server.get(), 3);
    std::vector<std::byte> buffer(64);
    CHECK_FALSE(PortIo::try_read(pair.server.get(), buffer).has_value());  // nothing sent yet
    loopback::send_all(pair.client.get(), "abc");
#ifdef _WIN32
    MESSAGE("Windows: the emulation never completes a read inline; the issued read gets the data");
    std::this_thread::sleep_for(50ms);  // (even with the bytes surely there)
    CHECK_FALSE(PortIo::try_read(pair.server.get(), buffer).has_value());
    std::string expected = "abc";
#else
    std::optional<std::uint32_t> got;
    REQUIRE(wait_until([&] { return (got = PortIo::try_read(pair.server.get(), buffer)).has_value(); }));
    CHECK(*got == 3);  // completed here: no packet will come for it
    CHECK(std::string(reinterpret_cast<const char*>(buffer.data()), 3) == "abc");
    CHECK_FALSE(PortIo::try_read(pair.server.get(), buffer).has_value());  // drained
    loopback::send_all(pair.client.get(), "de");
    std::string expected = "de";
#endif
    // The issued read after it sees exactly the bytes that were not taken inline.
    io.read(pair.server.get(), buffer, 8);
    evq::port::GetResult r = port.get(kDeadline);
    REQUIRE(r.got());
    CHECK(r.packet.user == 8);
    REQUIRE(r.packet.bytes == expected.size());
    CHECK(std::string(reinterpret_cast<const char*>(buffer.data()), r.packet.bytes) == expected);
    CHECK(port.get(0ms).status == evq::port::Wait::timeout);  // and only one packet came
    io.close(std::move(pair.server));
  }
}

TEST_CASE("try_write sends what fits now, and write() of the rest delivers every byte in order") {
  for (const std::string& backend : usable_backends()) {
    CAPTURE(backend);
    Port port(1);
    PortIo io(port, backend);
    peer::Pair pair = peer::connected_pair();
    io.associate(pair.server.get(), 4);
    // More than any loopback socket buffer holds, so that the inline part must stop short.
    std::vector<std::byte> data(8 << 20);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7 % 251);
    const std::size_t sent = PortIo::try_write(pair.server.get(), data);
#ifdef _WIN32
    MESSAGE("Windows: the emulation never completes a write inline; all of it goes through write()");
    CHECK(sent == 0);
#else
    CHECK(sent > 0);
    CHECK(sent < data.size());
#endif
    io.write(pair.server.get(), std::span<const std::byte>(data).subspan(sent), 6);
    std::string received = loopback::recv_exact(pair.client.get(), data.size());
    REQUIRE(received.size() == data.size());
    CHECK(std::memcmp(received.data(), data.data(), data.size()) == 0);
    evq::port::GetResult r = port.get(kDeadline);
    REQUIRE(r.got());
    CHECK(r.packet.user == 6);
    CHECK(r.packet.bytes == data.size() - sent);
    io.close(std::move(pair.server));
  }
}
// [/snippet test-try-inline]

TEST_CASE("the echo server on the pool echoes for many clients at once, on every backend") {
  for (const std::string& backend : usable_backends()) {
    CAPTURE(backend);
#ifndef _WIN32
    evq::completion::open_queue(backend);  // a backend may keep one descriptor for the process
    int fds_before = evq::test::open_fd_count();
#endif
    {
      loopback::Listener listener = loopback::listen();
      std::uint16_t port = listener.port;
      evq::port::EchoServer server(std::move(listener.socket), 2, 4, backend);
      CHECK(server.pool_size() == 4);
      constexpr int kClients = 24, kMessages = 30;
      std::atomic<int> good{0};
      std::vector<std::thread> clients;
      for (int i = 0; i < kClients; ++i)
        clients.emplace_back([&, i] {
          peer::OwnedSocket sock = loopback::connect(port);
          bool ok = true;
          for (int m = 0; m < kMessages && ok; ++m) {
            std::string text = "client " + std::to_string(i) + " says " + std::to_string(m);
            loopback::send_all(sock.get(), text);
            ok = loopback::recv_exact(sock.get(), text.size()) == text;
          }
          if (ok) ++good;
        });
      for (auto& t : clients) t.join();
      CHECK(good.load() == kClients);
      CHECK(wait_until([&] { return server.stats().accepted == kClients; }));
      server.stop();
    }
#ifndef _WIN32
    CHECK_MESSAGE(evq::test::open_fd_count() == fds_before, "the server should close every socket");
#endif
  }
}

TEST_CASE("the echo server survives peers that reset, half-close or vanish, and keeps serving") {
  loopback::Listener listener = loopback::listen();
  std::uint16_t port = listener.port;
  evq::port::EchoServer server(std::move(listener.socket), 2, 4);
  for (int i = 0; i < 20; ++i) {  // resets, some before sending anything
    peer::OwnedSocket sock = loopback::connect(port);
    if (i % 2) loopback::send_all(sock.get(), "then a reset");
    peer::reset_on_close(sock.get());
  }
  {
    INFO("step 2, after 20 resetting peers: a peer that sends 3 bytes and half-closes");
    peer::OwnedSocket half = loopback::connect(port);
    loopback::send_all(half.get(), "bye");
    peer::half_close(half.get());  // half-close: the echo still comes back, then end of stream
    CHECK(loopback::recv_exact(half.get(), 3) == "bye");
    CHECK(loopback::recv_exact(half.get(), 1).empty());
  }
  {
    INFO("step 3: a well-behaved peer must still be served");
    peer::OwnedSocket fine = loopback::connect(port);
    loopback::send_all(fine.get(), "still here?");
    CHECK(loopback::recv_exact(fine.get(), 11) == "still here?");
  }
  // Accepts are taken in order, so every earlier connection has been accepted (or dropped by the
  // stack because it was reset before anyone accepted it) by the time `fine` was echoed.
  REQUIRE(wait_until([&] {
    auto st = server.stats();
    return server.open_connections() == 0 && st.closed == st.accepted;
  }));
  auto stats = server.stats();
  MESSAGE("of 20 resetting peers the server saw ", stats.accepted - 2,
          " (the others were reset before "
          "they were accepted); ",
          stats.reset, " connections ended with an error");
  CHECK(stats.accepted >= 2);
  CHECK(stats.accepted <= 22);
}

// [snippet test-stress-io]
TEST_CASE("stress: a million posted packets and socket completions mixed on one port, each delivered once") {
  constexpr std::uint64_t kPosted = 1'000'000, kProducers = 4, kIoKey = ~std::uint64_t{0};
  constexpr int kMessages = 2000;
  Port port(2);
  PortIo io(port);
  peer::Pair pair = peer::connected_pair();
  std::vector<std::byte> buffer(1);
  std::atomic<std::uint64_t> posted_seen{0}, io_bytes{0}, io_failed{0};
  auto seen = std::make_unique<std::atomic<std::uint8_t>[]>(kPosted);
  std::vector<std::thread> consumers;
  for (int i = 0; i < 4; ++i)
    consumers.emplace_back([&] {
      for (;;) {
        evq::port::GetResult r = port.get(10s);
        if (r.status != evq::port::Wait::packet) return;
        if (r.packet.key == kIoKey) {  // one read in flight at a time: re-arm it
          if (r.packet.failed()) ++io_failed;
          io_bytes += r.packet.bytes;
          if (r.packet.bytes > 0) io.read(pair.server.get(), buffer, 0);
        } else {
          seen[r.packet.key].fetch_add(1);
          ++posted_seen;
        }
      }
    });
  io.associate(pair.server.get(), kIoKey);
  io.read(pair.server.get(), buffer, 0);
  std::thread writer([&] {
    for (int m = 0; m < kMessages; ++m) loopback::send_all(pair.client.get(), "x");
  });
  std::vector<std::thread> producers;
  for (std::uint64_t p = 0; p < kProducers; ++p)
    producers.emplace_back([&, p] {
      for (std::uint64_t k = p; k < kPosted; k += kProducers) REQUIRE(port.post(k));
    });
  for (auto& t : producers) t.join();
  writer.join();
  REQUIRE_MESSAGE(
      wait_until([&] { return posted_seen.load() == kPosted && io_bytes.load() == kMessages; }, 100s),
      "posted packets seen: ", posted_seen.load(), " of ", kPosted, "; bytes read: ", io_bytes.load(), " of ",
      kMessages);
  port.close();
  for (auto& t : consumers) t.join();
  CHECK(io_failed.load() == 0);
  std::uint64_t wrong = 0;
  for (std::uint64_t k = 0; k < kPosted; ++k) wrong += seen[k].load() != 1;
  CHECK(wrong == 0);
}
// [/snippet test-stress-io]
