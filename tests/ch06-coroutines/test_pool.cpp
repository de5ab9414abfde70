// The Pool: coroutines resumed by chapter 5's thread pool, on every usable ch04 backend. The
// coroutines only record what they saw; every CHECK runs on the test's own thread, after join()
// (doctest's assertions are not made for pool threads, and under Wine they crash there).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "evq/completion/backends.hpp"
#include "evq/completion/loopback.hpp"
#include "evq/coro/pool.hpp"
#ifdef _WIN32
#include "evq/common/win32.hpp"
#else
#include "evq/common/net.hpp"
#endif

using namespace evq::coro;
using namespace evq::completion;
using namespace std::chrono_literals;
namespace port = evq::port;

namespace {

std::vector<std::string> usable() {
  loopback::init();
  std::vector<std::string> names;
  for (const BackendInfo& b : backends())
    if (b.usable) names.push_back(b.name);
  return names;
}

OwnedSocket unconnected_socket() {  // for co_await pool.connect()
#ifdef _WIN32
  return evq::overlapped_tcp_socket();  // ConnectEx needs an overlapped socket
#else
  return evq::tcp_socket(evq::Family::v4);
#endif
}

std::span<std::byte> bytes_of(std::string& s) {
  return std::as_writable_bytes(std::span(s));
}

// One echo connection: read, write back, until end of stream.
Task<void> echo(Pool& pool, OwnedSocket sock, std::atomic<int>& echoed) {
  std::string buffer(256, '\0');  // lent at each read: it lives in this frame
  for (;;) {
    IoResult r = co_await pool.read(sock.get(), bytes_of(buffer));
    if (r.error || r.end_of_stream()) break;
    IoResult w = co_await pool.write(sock.get(), std::as_bytes(std::span(buffer.data(), r.bytes)));
    if (w.error) break;
    echoed.fetch_add(1);
  }
  pool.close(std::move(sock));
}

Task<void> accept_n(Pool& pool, NativeSocket listener, int n, std::atomic<int>& echoed,
                    std::atomic<int>& accept_errors) {
  for (int i = 0; i < n; ++i) {
    AcceptResult a = co_await pool.accept_one(listener);
    if (a.error) {
      accept_errors.fetch_add(1);
      co_return;
    }
    pool.spawn(echo(pool, std::move(a.socket), echoed));  // already associated by the pool
  }
}

// A client coroutine: connect, ask three questions, keep what came back.
Task<void> client(Pool& pool, std::uint16_t port, int id, std::vector<std::string>& answers) {
  OwnedSocket sock = unconnected_socket();
  pool.associate(sock.get());
  IoResult c = co_await pool.connect(sock.get(), Endpoint::loopback(port));
  if (c.error) {
    answers.push_back("connect failed: " + c.error.message());
    co_return;
  }
  for (int q = 0; q < 3; ++q) {
    std::string question = "client " + std::to_string(id) + " question " + std::to_string(q);
    IoResult w = co_await pool.write(sock.get(), bytes_of(question));
    if (w.error) break;
    std::string answer(question.size(), '\0');
    std::size_t got = 0;
    while (got < answer.size()) {
      IoResult r = co_await pool.read(
          sock.get(), std::as_writable_bytes(std::span(answer.data() + got, answer.size() - got)));
      if (r.error || r.end_of_stream()) break;
      got += r.bytes;
    }
    answers.push_back(answer.substr(0, got) == question ? "ok" : "wrong: " + answer.substr(0, got));
  }
  loopback::half_close(sock.get());  // the echo coroutine reads end of stream and ends
  pool.close(std::move(sock));
}

Task<void> note_thread(std::atomic<bool>& ran, std::thread::id& where) {
  where = std::this_thread::get_id();
  ran = true;
  co_return;
}

Task<void> hop_alone(Pool& pool, std::set<std::thread::id>& seen) {
  for (int i = 0; i < 1000; ++i) {
    co_await pool.hop();
    seen.insert(std::this_thread::get_id());
  }
}

Task<void> hop_together(Pool& pool, std::atomic<int>& steps, std::mutex& mutex,
                        std::set<std::thread::id>& threads) {
  for (int i = 0; i < 500; ++i) {
    co_await pool.hop();
    steps.fetch_add(1);
    std::lock_guard lock(mutex);
    threads.insert(std::this_thread::get_id());
  }
}

Task<void> sleeper(Pool& pool, std::chrono::milliseconds d, char mark, std::string& order) {
  co_await pool.sleep_for(d);
  order += mark;
}

Task<void> reader(Pool& pool, NativeSocket s, std::string& buffer, std::atomic<int>& resumed,
                  IoResult& seen) {
  seen = co_await pool.read(s, bytes_of(buffer));
  resumed.fetch_add(1);
}

// Reads three times in `scope`; keeps what each read said.
Task<void> read_thrice_in(Pool& pool, CancelScope& scope, NativeSocket s, std::string& buffer,
                          std::vector<IoResult>& results) {
  for (int i = 0; i < 3; ++i) results.push_back(co_await pool.read(s, bytes_of(buffer)).in(scope));
}

Task<IoResult> guarded(Pool& pool, NativeSocket s, std::chrono::milliseconds limit) {
  std::string buffer(64, '\0');
  co_return co_await pool.read_for(s, bytes_of(buffer), limit);
}

Task<IoResult> read_in(Pool& pool, CancelScope& scope, NativeSocket s, std::string& buffer) {
  co_return co_await pool.read(s, bytes_of(buffer)).in(scope);
}

Task<void> thrower(Pool& pool, const char* what) {
  co_await pool.sleep_for(5ms);
  throw std::runtime_error(what);
}

Task<IoResult> write_all_once(Pool& pool, NativeSocket s, const std::string& data) {
  co_return co_await pool.write(s, std::as_bytes(std::span(data)));
}

Task<int> answer_after_a_hop(Pool& pool) {
  co_await pool.hop();
  co_await pool.sleep_for(1ms);
  co_return 42;
}

}  // namespace

TEST_CASE("a spawned task starts on a pool thread, not in spawn(), and join() waits for it") {
  Pool pool;
  CHECK(pool.threads() == 2 * pool.concurrency());
  std::atomic<bool> ran{false};
  std::thread::id where;
  pool.spawn(note_thread(ran, where));
  pool.join();
  CHECK(ran);
  CHECK(where != std::this_thread::get_id());
  CHECK(pool.live_tasks() == 0);
}

TEST_CASE("an echo on the pool, on every backend: accept, connect, read and write as awaits") {
  for (const std::string& name : usable())
    for (bool inline_first : {true, false})
      for (port::Driver driver : {port::Driver::pump, port::Driver::callers}) {
        if (driver == port::Driver::callers && !port::PortIo::callers_can_drive(name)) continue;
        INFO("backend " << name
                        << (inline_first ? ", inline completions" : ", every operation through the queue")
                        << (driver == port::Driver::pump ? ", a pump thread"
                                                         : ", the pool's threads at the queue"));
        Pool pool(Pool::Options{2, 4, name, inline_first, driver});
        CHECK(pool.completes_inline() == inline_first);
        CHECK(pool.driver() == driver);
        CHECK(pool.backend() == name);
        loopback::Listener listener = loopback::listen();
        pool.associate(listener.socket.get());
        constexpr int kClients = 16;
        std::atomic<int> echoed{0}, accept_errors{0};
        std::vector<std::vector<std::string>> answers(kClients);
        pool.spawn(accept_n(pool, listener.socket.get(), kClients, echoed, accept_errors));
        for (int c = 0; c < kClients; ++c) pool.spawn(client(pool, listener.port, c, answers[c]));
        pool.join();
        CHECK(accept_errors == 0);
        CHECK(echoed == 3 * kClients);
        for (int c = 0; c < kClients; ++c) {
          CAPTURE(c);
          CHECK(answers[c] == std::vector<std::string>{"ok", "ok", "ok"});
        }
        pool.close(std::move(listener.socket));  // the pool closes it once nothing is pending on it
      }
}

TEST_CASE("a write larger than the socket holds: part inline, the rest through the pump, all counted") {
  // Pool::write's result is all of it or an error, whichever way each part went out.
  for (const std::string& name : usable()) {
    INFO("backend " << name);
    Pool pool(Pool::Options{2, 4, name, true});
    loopback::Pair pair = loopback::connected_pair();
    pool.associate(pair.server.get());
    std::string data(8 << 20, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 23);
    std::string received;
    std::thread drain([&] { received = loopback::recv_exact(pair.client.get(), data.size()); });
    IoResult w = pool.run(write_all_once(pool, pair.server.get(), data));
    drain.join();
    CHECK_FALSE(w.error);
    CHECK(w.bytes == data.size());
    CHECK(received == data);
    pool.close(std::move(pair.server));
  }
}

TEST_CASE("with concurrency 1, every hop stays on the thread that posted it (the cap holds the others)") {
  // The coroutine runs on thread T, so T is the one running thread: hop()'s packet is queued, not
  // handed to a waiting thread, and T takes it when it comes back to get(). Chapter 5's rule.
  Pool pool(Pool::Options{1, 4, ""});
  std::set<std::thread::id> seen;
  pool.spawn(hop_alone(pool, seen));
  pool.join();
  CHECK(seen.size() == 1);
}

TEST_CASE("many coroutines hopping between pool threads: every step runs exactly once") {
  Pool pool(Pool::Options{2, 4, ""});
  std::atomic<int> steps{0};
  std::mutex mutex;
  std::set<std::thread::id> threads;
  for (int c = 0; c < 8; ++c) pool.spawn(hop_together(pool, steps, mutex, threads));
  pool.join();
  CHECK(steps == 8 * 500);
  MESSAGE("8 coroutines x 500 hops ran on " << threads.size() << " of " << pool.threads()
                                            << " pool threads (concurrency " << pool.concurrency() << ")");
  CHECK(threads.size() >= 1);
  CHECK(threads.size() <= pool.threads());
}

TEST_CASE("sleep_for on the pool resumes sleepers in deadline order") {
  Pool pool(Pool::Options{1, 2, ""});  // concurrency 1: one sleeper runs at a time, in packet order
  std::string order;
  pool.spawn(sleeper(pool, 250ms, 'c', order));
  pool.spawn(sleeper(pool, 50ms, 'a', order));
  pool.spawn(sleeper(pool, 150ms, 'b', order));
  pool.join();
  CHECK(order == "abc");
}

TEST_CASE("cancel reaches a pending read on the pool: it completes aborted, once, buffer untouched") {
  for (const std::string& name : usable()) {
    INFO("backend " << name);
    Pool pool(Pool::Options{2, 4, name});
    loopback::Pair pair = loopback::connected_pair();
    pool.associate(pair.server.get());
    const std::string canary(32, '#');
    std::string buffer = canary;
    std::atomic<int> resumed{0};
    IoResult seen;
    pool.spawn(reader(pool, pair.server.get(), buffer, resumed, seen));
    // The read is issued on a pool thread at some point: cancel until it has come back. A cancel
    // that comes before the read finds nothing to cancel, as ch04's rule says.
    for (int i = 0; i < 500 && resumed == 0; ++i) {
      pool.cancel(pair.server.get());
      std::this_thread::sleep_for(10ms);
    }
    pool.join();
    CHECK(resumed == 1);
    CHECK_MESSAGE(is_aborted(seen.error), "got: " << seen.error.message());
    loopback::send_all(pair.client.get(), "too late");  // the read is over: this must not land
    std::this_thread::sleep_for(20ms);
    CHECK(buffer == canary);
    pool.close(std::move(pair.server));
  }
}

TEST_CASE("a cancelled scope aborts the read pending in it, and at once every read issued in it later") {
  for (const std::string& name : usable())
    for (bool inline_first : {false, true}) {
      INFO("backend " << name << (inline_first ? ", inline completions" : ""));
      Pool pool(Pool::Options{2, 4, name, inline_first});
      loopback::Pair pair = loopback::connected_pair();
      pool.associate(pair.server.get());
      CancelScope scope(pool);
      const std::string canary(32, '#');
      std::string buffer = canary;
      std::vector<IoResult> results;
      pool.spawn(read_thrice_in(pool, scope, pair.server.get(), buffer, results));
      std::this_thread::sleep_for(20ms);  // the first read is (most likely) pending by now; if not,
      scope.cancel();                     // it is never issued: the result is the same either way
      pool.join();
      REQUIRE(results.size() == 3);
      for (const IoResult& r : results) CHECK_MESSAGE(is_aborted(r.error), "got: " << r.error.message());
      CHECK(scope.cancelled());
      loopback::send_all(pair.client.get(), "too late");
      std::this_thread::sleep_for(20ms);
      CHECK(buffer == canary);
      pool.close(std::move(pair.server));
    }
}

TEST_CASE("read_for on the pool: silence is an aborted read, data in time is a normal one") {
  for (const std::string& name : usable()) {
    INFO("backend " << name);
    Pool pool(Pool::Options{2, 4, name});
    loopback::Pair pair = loopback::connected_pair();
    pool.associate(pair.server.get());
    IoResult timed_out = pool.run(guarded(pool, pair.server.get(), 50ms));
    CHECK_MESSAGE(is_aborted(timed_out.error), "got: " << timed_out.error.message());
    loopback::send_all(pair.client.get(), "in time");
    IoResult in_time = pool.run(guarded(pool, pair.server.get(), 5000ms));
    CHECK_MESSAGE(!in_time.error, in_time.error.message());
    CHECK(in_time.bytes == 7);
    pool.close(std::move(pair.server));
  }
}

TEST_CASE("what completed is forgotten: a scope or a read_for deadline leaves the socket's next read alone") {
  // Both keep a record per operation for their cancel: the scope, which sockets have operations
  // in it; the timer, which deadline guards which read. Once the operation completes, neither may
  // reach the socket again: a read issued after it, outside the scope and past the deadline, must
  // get its data.
  for (const std::string& name : usable()) {
    INFO("backend " << name);
    Pool pool(Pool::Options{2, 4, name});
    loopback::Pair pair = loopback::connected_pair();
    pool.associate(pair.server.get());
    CancelScope scope(pool);
    std::string first(3, '\0');
    loopback::send_all(pair.client.get(), "one");
    IoResult in_scope = pool.run(read_in(pool, scope, pair.server.get(), first));
    REQUIRE_MESSAGE(!in_scope.error, in_scope.error.message());
    loopback::send_all(pair.client.get(), "two");
    IoResult guarded_read = pool.run(guarded(pool, pair.server.get(), 100ms));  // done long before 100 ms
    REQUIRE_MESSAGE(!guarded_read.error, guarded_read.error.message());
    std::string buffer(16, '\0');
    std::atomic<int> resumed{0};
    IoResult seen;
    pool.spawn(reader(pool, pair.server.get(), buffer, resumed, seen));  // no scope, no deadline
    std::this_thread::sleep_for(300ms);  // the dropped deadline's time comes and goes
    scope.cancel();                      // a scope whose operation on this socket is over
    std::this_thread::sleep_for(20ms);
    loopback::send_all(pair.client.get(), "three");
    pool.join();
    CHECK(resumed == 1);
    CHECK_MESSAGE(!seen.error, "the read outside the scope and the deadline got: " << seen.error.message());
    CHECK(seen.bytes == 5);
    CHECK(buffer.substr(0, 5) == "three");
    pool.close(std::move(pair.server));
  }
}

TEST_CASE("an exception that escapes a spawned task goes to its error sink, or join() rethrows it") {
  Pool pool(Pool::Options{2, 4, ""});
  std::mutex mutex;
  std::vector<std::string> sunk;
  pool.spawn(thrower(pool, "to the sink"), [&](std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::lock_guard lock(mutex);
      sunk.push_back(x.what());
    }
  });
  pool.join();
  CHECK(sunk == std::vector<std::string>{"to the sink"});
  pool.spawn(thrower(pool, "to join"));
  CHECK_THROWS_WITH_AS(pool.join(), "to join", std::runtime_error);
  pool.join();  // rethrown once: the pool is clean again
}

TEST_CASE("run() gives a task's value to the thread outside the pool") {
  Pool pool(Pool::Options{2, 4, ""});
  CHECK(pool.run(answer_after_a_hop(pool)) == 42);
}
