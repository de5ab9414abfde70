// PortIo without a pump (Driver::callers): the pool's threads take turns at the ch04 queue, and the
// read issued after an empty try (read_found_empty) completes when its data comes, on every backend.
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "evq/completion/backends.hpp"
#include "evq/completion/loopback.hpp"
#include "evq/port/peer.hpp"
#include "evq/port/port_io.hpp"
#include "evq/port/thread_pool.hpp"
#include "evq/test/support.hpp"
#include "usable_backends.hpp"

using namespace std::chrono_literals;
using evq::port::Driver;
using evq::port::Packet;
using evq::port::Port;
using evq::port::PortIo;
using evq::port::ThreadPool;
using evq::test::kDeadline;
using evq::test::usable_backends;
using evq::test::wait_until;
namespace loopback = evq::completion::loopback;
namespace peer = evq::port::peer;

namespace {

std::string text(const std::vector<std::byte>& buffer, std::size_t n) {
  return std::string(reinterpret_cast<const char*>(buffer.data()), n);
}

// The backends here that Driver::callers can drive (all but io_uring).
std::vector<std::string> callers_backends() {
  std::vector<std::string> out;
  for (const std::string& backend : usable_backends())
    if (PortIo::callers_can_drive(backend)) out.push_back(backend);
  return out;
}

// A callers-driven PortIo over `backend`, and one connected pair whose server end is associated
// with key 5: what most tests here start from.
struct Rig {
  Port port;
  PortIo io;
  peer::Pair pair = peer::connected_pair();
  std::vector<std::byte> buffer = std::vector<std::byte>(64);
  Rig(const std::string& backend, unsigned concurrency)
      : port(concurrency), io(port, backend, Driver::callers) {
    io.associate(pair.server.get(), 5);
  }
};

// Takes turns at the queue on this thread until one of them completes something for us.
bool poll_until_mine(PortIo& io, std::optional<Packet>& mine) {
  return wait_until([&] {
    REQUIRE(io.poll(mine));
    return mine.has_value();
  });
}
}  // namespace

TEST_CASE("Driver::callers: only io_uring refuses it, and a pump PortIo refuses to be polled or driven") {
  for (const std::string& backend : usable_backends()) {
    CAPTURE(backend);
    Port port(2);
    const bool can = PortIo::callers_can_drive(backend);
    CHECK(can == (backend != "io_uring"));
    if (!can) {
      CHECK_THROWS_AS(PortIo(port, backend, Driver::callers), std::invalid_argument);
      continue;
    }
    PortIo driven(port, backend, Driver::callers);
    CHECK(driven.driver() == Driver::callers);
    PortIo pumped(port, backend);
    CHECK(pumped.driver() == Driver::pump);
    std::optional<Packet> mine;
    CHECK_THROWS_AS(pumped.poll(mine), std::logic_error);
    CHECK_THROWS_AS(ThreadPool(
                        port, [](const Packet&) {}, 1, "t", &pumped),
                    std::invalid_argument);
  }
}

TEST_CASE("Driver::callers: one turn at a time, and a wake() ends the turn that waits, with nothing") {
  for (const std::string& backend : callers_backends()) {
    CAPTURE(backend);
    Port port(2);
    PortIo io(port, backend, Driver::callers);
    // Two threads ask for a turn at once. Nothing is pending, so the one that gets it waits until
    // woken; the other is told "not yours" at once.
    std::atomic<int> turns{0}, refused{0};
    std::atomic<bool> saw_packet{false};
    auto ask = [&] {
      std::optional<Packet> mine;
      (io.poll(mine) ? turns : refused).fetch_add(1);
      if (mine) saw_packet = true;
    };
    std::thread a(ask), b(ask);
    REQUIRE(wait_until([&] { return refused == 1; }));
    std::this_thread::sleep_for(20ms);
    CHECK(turns == 0);  // the turn still waits: nothing completed, nobody woke it
    io.wake();
    const bool ended = wait_until([&] { return turns == 1; });
    if (!ended) io.stop_polling();  // so that the threads can be joined, and the check below fails
    a.join();
    b.join();
    CHECK(ended);
    CHECK(turns == 1);
    CHECK(refused == 1);
    CHECK_FALSE(saw_packet);  // it ended with nothing completed
  }
}

TEST_CASE(
    "Driver::callers: a read's completion goes to the thread whose turn saw it, with no packet queued") {
  for (const std::string& backend : callers_backends()) {
    CAPTURE(backend);
    Port port(2);
    PortIo io(port, backend, Driver::callers);
    peer::Pair pair = peer::connected_pair();
    std::vector<std::byte> buffer(64);
    io.associate(pair.server.get(), 41);
    io.read(pair.server.get(), buffer, 7);
    loopback::send_all(pair.client.get(), "hello");
    std::optional<Packet> mine;
    // The first turns issue the association and the read; a later one sees the data.
    REQUIRE(poll_until_mine(io, mine));
    CHECK(mine->key == 41);
    CHECK(mine->user == 7);
    REQUIRE(mine->bytes == 5);
    CHECK(text(buffer, 5) == "hello");
    CHECK(port.get(0ms).status == evq::port::Wait::timeout);  // it was not posted as well
    io.close(std::move(pair.server));
  }
}

TEST_CASE("Driver::callers: a pool that drives the queue echoes for many sockets, each completion once") {
  for (const std::string& backend : callers_backends()) {
    CAPTURE(backend);
    Port port(2);
    PortIo io(port, backend, Driver::callers);
    constexpr int kPairs = 24, kRounds = 20;
    std::vector<peer::Pair> pairs;
    std::vector<std::vector<std::byte>> buffers(kPairs, std::vector<std::byte>(16));
    for (int i = 0; i < kPairs; ++i) {
      pairs.push_back(peer::connected_pair());
      io.associate(pairs[i].server.get(), static_cast<std::uint64_t>(i));
    }
    std::vector<std::string> echoes(kPairs);
    std::mutex mutex;
    std::map<int, int> completions;  // pair -> reads completed
    std::set<std::thread::id> threads;
    std::atomic<int> reads{0};
    enum : std::uint64_t { kRead = 0, kWrite = 1 };
    auto handler = [&](const Packet& p) {
      const int i = static_cast<int>(p.key);
      if (p.failed()) return;
      if (p.user == kWrite) {
        io.read(pairs[i].server.get(), buffers[i], kRead);  // echoed: read the next round
        return;
      }
      {
        std::lock_guard lock(mutex);
        threads.insert(std::this_thread::get_id());
        ++completions[i];
      }
      reads.fetch_add(1);
      echoes[i] = text(buffers[i], p.bytes);
      io.write(pairs[i].server.get(), std::as_bytes(std::span(echoes[i])), kWrite);
    };
    {
      ThreadPool pool(port, handler, 4, "caller", &io);
      for (int i = 0; i < kPairs; ++i) io.read(pairs[i].server.get(), buffers[i], kRead);
      for (int round = 0; round < kRounds; ++round) {
        const std::string message = "r" + std::to_string(round);
        for (int i = 0; i < kPairs; ++i) loopback::send_all(pairs[i].client.get(), message);
        for (int i = 0; i < kPairs; ++i) {
          CAPTURE(i);
          CHECK(loopback::recv_exact(pairs[i].client.get(), message.size()) == message);
        }
      }
      REQUIRE(wait_until([&] { return reads == kPairs * kRounds; }));
      pool.stop();
    }
    for (int i = 0; i < kPairs; ++i) {
      CAPTURE(i);
      CHECK(completions[i] == kRounds);  // each read completed once: none lost, none twice
    }
    INFO(threads.size() << " pool thread(s) handled completions");
    CHECK(threads.size() >= 1);
    for (auto& p : pairs) io.close(std::move(p.server));
  }
}

TEST_CASE("read_found_empty completes when its data comes, on every backend and either driver") {
  for (const std::string& backend : usable_backends()) {
    for (Driver driver : {Driver::pump, Driver::callers}) {
      if (driver == Driver::callers && !PortIo::callers_can_drive(backend)) continue;
      CAPTURE(backend);
      CAPTURE(driver == Driver::pump ? "pump" : "callers");
      Port port(2);
      PortIo io(port, backend, driver);
      std::optional<ThreadPool> pool;
      std::mutex mutex;
      std::vector<Packet> got;
      auto handler = [&](const Packet& p) {
        std::lock_guard lock(mutex);
        got.push_back(p);
      };
      pool.emplace(port, handler, 2, "t", driver == Driver::callers ? &io : nullptr);
      peer::Pair pair = peer::connected_pair();
      io.associate(pair.server.get(), 5);
      std::vector<std::byte> buffer(64);
      PortIo::TriedRead tried;
      CHECK_FALSE(io.try_read(pair.server.get(), buffer, tried).has_value());
#ifdef _WIN32
      MESSAGE("Windows: try_read never completes inline, so it never says the socket was empty");
      CHECK_FALSE(tried.found_empty);
#else
      CHECK(tried.found_empty);  // EAGAIN: nothing there
#endif
      // Issued without waking anybody on epoll and kqueue: with nothing else going on, only the
      // data's own edge can bring it to the queue. (On iocp and io_uring it must wake whoever
      // waits on the queue, as read() does: nothing else would ever issue it there.) The sleeps
      // let everyone fall asleep first, so that nothing else is going on.
      std::this_thread::sleep_for(20ms);
      io.read_found_empty(pair.server.get(), buffer, 11, tried);
      std::this_thread::sleep_for(20ms);
      loopback::send_all(pair.client.get(), "late");
      REQUIRE(wait_until([&] {
        std::lock_guard lock(mutex);
        return !got.empty();
      }));
      pool->stop();
      REQUIRE(got.size() == 1);
      CHECK(got[0].user == 11);
      REQUIRE(got[0].bytes == 4);
      CHECK(text(buffer, 4) == "late");
      pool.reset();
      io.close(std::move(pair.server));
    }
  }
}

// The race behind a hang the full CI showed once (chapter 6's echo test; about 390 runs here never
// did): a read is tried and found empty, its data comes, and a turn at the queue sees the data's
// edge and returns before the read is queued. The edge is spent: if the read is then queued
// quietly, the next turn waits for an edge that never comes, and nobody issues the read. Here the
// steps are taken one by one on this thread, with a second thread as the turn that waits.
TEST_CASE("read_found_empty after a turn already saw the data's edge still wakes the turn that waits") {
  for (const std::string& backend : callers_backends()) {
    CAPTURE(backend);
    Rig rig(backend, 2);
    PortIo& io = rig.io;
    peer::Pair& pair = rig.pair;
    std::vector<std::byte>& buffer = rig.buffer;
    io.read(pair.server.get(), buffer, 1);  // a first read, so that the socket is watched
    loopback::send_all(pair.client.get(), "x");
    std::optional<Packet> mine;
    REQUIRE(poll_until_mine(io, mine));
    REQUIRE(mine->user == 1);
    bool held = false;  // did the second thread wait before the read was queued?
    for (int attempt = 0; attempt < 8 && !held; ++attempt) {
      CAPTURE(attempt);
      // 1. The try: nothing there yet.
      PortIo::TriedRead tried;
      REQUIRE_FALSE(io.try_read(pair.server.get(), buffer, tried).has_value());
#ifdef _WIN32
      MESSAGE("Windows: try_read never completes inline, so this race cannot happen there");
      CHECK_FALSE(tried.found_empty);
      held = true;
      break;
#endif
      REQUIRE(tried.found_empty);
      // 2. The data comes, and a turn sees its edge and returns with nothing (no read is pending).
      // (Only epoll and kqueue get here: on Windows the loop ended above.)
      loopback::send_all(pair.client.get(), "late");
      mine.reset();
      REQUIRE(io.poll(mine));
      CHECK_FALSE(mine.has_value());
      // 3. Another turn starts, finds no request, and waits.
      std::atomic<bool> returned{false};
      std::optional<Packet> theirs;
      std::thread waiter([&] {
        REQUIRE(io.poll(theirs));
        returned = true;
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
      // 4. Only now the read is queued, as found empty.
      io.read_found_empty(pair.server.get(), buffer, 11, tried);
      const bool woke = wait_until([&] { return returned.load(); });
      if (!woke) io.stop_polling();  // so that the thread can be joined, and the check below fails
      waiter.join();
      INFO("the waiting turn must be woken: the read's data came, but its edge was spent already");
      REQUIRE(woke);
      // If that turn issued the read itself, it had not started waiting yet: the race did not
      // happen this time, so try again, giving it longer.
      held = !theirs.has_value();
      if (theirs) REQUIRE(theirs->user == 11);
      if (!theirs) {
        REQUIRE(poll_until_mine(io, mine));
        REQUIRE(mine->user == 11);
      }
      const Packet& read = theirs ? *theirs : *mine;
      REQUIRE(read.bytes == 4);
      CHECK(text(buffer, 4) == "late");
    }
    CHECK(held);  // the race was set up at least once
    io.close(std::move(pair.server));
  }
}

// ThreadPool::next takes what the port holds before it takes a turn at the ch04 queue, as Asio's
// scheduler runs its reactor only when its queue comes round to it. A turn taken while packets
// wait would sleep in the ch04 queue, or come back with a batch of one, and a busy server would
// pay a context switch for each such batch (chapter 7's benchmark counts them).
TEST_CASE("a pool that drives the queue takes the port's queued packet before a turn's completion") {
  for (const std::string& backend : callers_backends()) {
    CAPTURE(backend);
    Rig rig(backend, 1);
    Port& port = rig.port;
    PortIo& io = rig.io;
    peer::Pair& pair = rig.pair;
    std::vector<std::byte>& buffer = rig.buffer;
    enum : std::uint64_t { kGate = 100, kPosted = 22, kRead = 11 };
    std::mutex mutex;
    std::vector<std::uint64_t> order;
    std::atomic<bool> in_gate{false}, open{false};
    auto handler = [&](const Packet& p) {
      {
        std::lock_guard lock(mutex);
        order.push_back(p.user);
      }
      if (p.user != kGate) return;
      in_gate = true;
      wait_until([&] { return open.load(); });
    };
    ThreadPool pool(port, handler, 1, "t", &io);
    port.post(Packet{0, 0, kGate, {}});
    io.wake();  // the pool's one thread may be waiting in its turn: a post alone reaches no one
    REQUIRE(wait_until([&] { return in_gate.load(); }));
    // While the only thread is busy: a read whose data is there already, then a packet posted.
    io.read(pair.server.get(), buffer, kRead);
    loopback::send_all(pair.client.get(), "data");
    port.post(Packet{0, 0, kPosted, {}});
    open = true;
    const bool all = wait_until([&] {
      std::lock_guard lock(mutex);
      return order.size() == 3;
    });
    pool.stop();
    REQUIRE(all);
    std::string seen;
    for (std::uint64_t user : order) seen += (seen.empty() ? "" : " ") + std::to_string(user);
    INFO("expected the gate (100), then the packet the port held (22), then the read a turn completes (11)");
    CHECK(seen == "100 22 11");
    CHECK(text(buffer, 4) == "data");
    io.close(std::move(pair.server));
  }
}

// ... but not for ever: a handler that keeps posting (chapter 6's hop, a timer that fires often)
// would otherwise keep every socket's completion out. After ThreadPool::kQueuedBeforeTurn packets
// in a row, the turn comes anyway.
TEST_CASE("a pool that drives the queue still takes turns while a handler keeps posting") {
  for (const std::string& backend : callers_backends()) {
    CAPTURE(backend);
    Rig rig(backend, 1);
    Port& port = rig.port;
    PortIo& io = rig.io;
    peer::Pair& pair = rig.pair;
    std::vector<std::byte>& buffer = rig.buffer;
    enum : std::uint64_t { kStream = 1, kRead = 11 };
    std::atomic<bool> read_done{false}, stream_on{true};
    std::atomic<std::size_t> posted{0};
    auto handler = [&](const Packet& p) {
      if (p.user == kRead) read_done = true;
      if (p.user == kStream && stream_on) {
        posted.fetch_add(1);
        port.post(p);  // the same packet again: the port is never empty
      }
    };
    ThreadPool pool(port, handler, 1, "t", &io);
    io.read(pair.server.get(), buffer, kRead);
    loopback::send_all(pair.client.get(), "x");
    port.post(Packet{0, 0, kStream, {}});
    io.wake();
    const bool completed = wait_until([&] { return read_done.load(); });
    stream_on = false;
    pool.stop();
    INFO(posted.load() << " packets were posted while the read waited");
    CHECK(completed);
    CHECK(posted.load() > 0);  // the stream did run alongside
    io.close(std::move(pair.server));
  }
}
