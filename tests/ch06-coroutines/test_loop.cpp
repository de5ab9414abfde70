// The Loop on every usable ch04 backend: reads and writes as straight-line code, accept and
// connect, timers, cancellation reaching a pending read, a read guarded by a timeout, and waking one
// coroutine from another (yield, resume_soon).
#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "evq/completion/backends.hpp"
#include "evq/completion/loopback.hpp"
#include "evq/coro/loop.hpp"

using namespace evq::coro;
using namespace evq::completion;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> usable() {
  loopback::init();
  std::vector<std::string> names;
  for (const BackendInfo& b : backends())
    if (b.usable) names.push_back(b.name);
  return names;
}

std::span<std::byte> bytes_of(std::string& s) {
  return std::as_writable_bytes(std::span(s));
}

// Echoes what it reads until end of stream; counts the round trips.
Task<void> echo(Loop& loop, NativeSocket sock, int& echoed) {
  std::string buffer(256, '\0');  // lent to the queue at each read: it lives in this frame
  for (;;) {
    IoResult r = co_await loop.read(sock, bytes_of(buffer));
    if (r.error || r.end_of_stream()) co_return;
    IoResult w = co_await loop.write(sock, std::as_bytes(std::span(buffer.data(), r.bytes)));
    if (w.error) co_return;
    ++echoed;
  }
}

Task<std::string> ask(Loop& loop, NativeSocket sock, std::string question) {
  IoResult w = co_await loop.write(sock, bytes_of(question));
  REQUIRE(!w.error);
  std::string answer(question.size(), '\0');
  std::size_t got = 0;
  while (got < answer.size()) {
    IoResult r =
        co_await loop.read(sock, std::as_writable_bytes(std::span(answer.data() + got, answer.size() - got)));
    if (r.error || r.end_of_stream()) break;
    got += r.bytes;
  }
  answer.resize(got);
  co_return answer;
}

Task<void> ask_three(Loop& loop, NativeSocket sock, std::vector<std::string>& answers) {
  for (const char* q : {"one", "two, longer", "three"}) answers.push_back(co_await ask(loop, sock, q));
  loopback::half_close(sock);  // the echo coroutine reads end of stream and returns
}

Task<void> serve_one(Loop& loop, NativeSocket listener, std::string& served) {
  AcceptResult a = co_await loop.accept_one(listener);
  REQUIRE_MESSAGE(!a.error, a.error.message());
  loop.queue().attach(a.socket.get());
  std::string buffer(16, '\0');
  IoResult r = co_await loop.read(a.socket.get(), bytes_of(buffer));
  served = buffer.substr(0, r.bytes);
  loop.queue().detach(a.socket.get());
}

Task<void> sleeper(Loop& loop, std::chrono::milliseconds d, char mark, std::string& order) {
  co_await loop.sleep_for(d);
  order += mark;
}

Task<void> reader(Loop& loop, NativeSocket s, std::string& buffer, int& resumed, IoResult& seen) {
  seen = co_await loop.read(s, bytes_of(buffer));
  ++resumed;
}

Task<void> canceller(Loop& loop, NativeSocket s) {
  co_await loop.sleep_for(20ms);
  loop.cancel(s);
}

Task<IoResult> guarded(Loop& loop, NativeSocket s, std::chrono::milliseconds limit) {
  std::string buffer(16, '\0');
  co_return co_await loop.read_for(s, bytes_of(buffer), limit);
}

Task<void> stuck() {
  co_await std::suspend_always{};
}

}  // namespace

TEST_CASE("a coroutine echo: reads and writes as straight-line code, on every backend") {
  for (const std::string& name : usable()) {
    INFO("backend " << name);
    auto queue = open_queue(name);
    Loop loop(*queue);
    loopback::Pair pair = loopback::connected_pair();
    queue->attach(pair.server.get());
    queue->attach(pair.client.get());
    int echoed = 0;
    loop.spawn(echo(loop, pair.server.get(), echoed));
    std::vector<std::string> answers;
    loop.run(ask_three(loop, pair.client.get(), answers));
    CHECK(answers == std::vector<std::string>{"one", "two, longer", "three"});
    CHECK(echoed == 3);
    CHECK(loop.live_tasks() == 0);
    CHECK(queue->pending() == 0);
    queue->detach(pair.server.get());
    queue->detach(pair.client.get());
  }
}

TEST_CASE("accept and connect as awaits: a server coroutine and a client coroutine on one loop") {
  for (const std::string& name : usable()) {
    INFO("backend " << name);
    auto queue = open_queue(name);
    Loop loop(*queue);
    loopback::Listener listener = loopback::listen();
    queue->attach(listener.socket.get());
    std::string served;
    loop.spawn(serve_one(loop, listener.socket.get(), served));
    OwnedSocket client = loopback::connect(listener.port);
    loopback::send_all(client.get(), "hi");
    loop.run();
    CHECK(served == "hi");
    queue->detach(listener.socket.get());
  }
}

TEST_CASE("sleep_for resumes coroutines in deadline order") {
  auto queue = open_queue(default_backend());
  Loop loop(*queue);
  std::string order;
  loop.spawn(sleeper(loop, 60ms, 'c', order));
  loop.spawn(sleeper(loop, 10ms, 'a', order));
  loop.spawn(sleeper(loop, 30ms, 'b', order));
  loop.run();
  CHECK(order == "abc");
}

TEST_CASE("cancel reaches a pending read: it completes aborted, once, and its buffer is left alone") {
  for (const std::string& name : usable()) {
    INFO("backend " << name);
    auto queue = open_queue(name);
    Loop loop(*queue);
    loopback::Pair pair = loopback::connected_pair();
    queue->attach(pair.server.get());
    const std::string canary(32, '#');
    std::string buffer = canary;
    int resumed = 0;
    IoResult seen;
    loop.spawn(reader(loop, pair.server.get(), buffer, resumed, seen));
    loop.spawn(canceller(loop, pair.server.get()));
    loop.run();
    CHECK(resumed == 1);
    CHECK_MESSAGE(is_aborted(seen.error), "got: " << seen.error.message());
    loopback::send_all(pair.client.get(), "too late");  // the read is over: this must not land
    CHECK(queue->pending() == 0);
    CHECK(buffer == canary);
    queue->detach(pair.server.get());
  }
}

TEST_CASE("read_for: no data within the limit is an aborted read, and data in time is a normal one") {
  for (const std::string& name : usable()) {
    INFO("backend " << name);
    auto queue = open_queue(name);
    Loop loop(*queue);
    loopback::Pair pair = loopback::connected_pair();
    queue->attach(pair.server.get());
    IoResult timed_out = loop.run(guarded(loop, pair.server.get(), 30ms));
    CHECK_MESSAGE(is_aborted(timed_out.error), "got: " << timed_out.error.message());
    loopback::send_all(pair.client.get(), "in time");
    IoResult in_time = loop.run(guarded(loop, pair.server.get(), 5000ms));
    CHECK_MESSAGE(!in_time.error, in_time.error.message());
    CHECK(in_time.bytes == 7);
    CHECK(queue->pending() == 0);
    queue->detach(pair.server.get());
  }
}

TEST_CASE("a task that waits on nothing is a deadlock the loop reports, not a hang") {
  auto queue = open_queue(default_backend());
  Loop loop(*queue);
  loop.spawn(stuck());
  CHECK_THROWS_AS(loop.run(), std::logic_error);
}

namespace {
Task<void> throws_after_a_sleep(Loop& loop) {
  co_await loop.sleep_for(5ms);
  throw std::runtime_error("from a spawned task");
}
}  // namespace

TEST_CASE("an exception that escapes a spawned task is not lost: run() rethrows it") {
  auto queue = open_queue(default_backend());
  Loop loop(*queue);
  loop.spawn(throws_after_a_sleep(loop));
  CHECK_THROWS_WITH_AS(loop.run(), "from a spawned task", std::runtime_error);
  CHECK(loop.live_tasks() == 0);
}

namespace {
Task<void> take_turns(Loop& loop, char mark, std::string& order) {
  for (int i = 0; i < 3; ++i) {
    order += mark;
    co_await loop.yield();
  }
}

// Suspends until someone calls resume_soon() with its handle.
struct Parked {
  std::coroutine_handle<>* slot;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> self) { *slot = self; }
  void await_resume() const noexcept {}
};

Task<void> parked(std::coroutine_handle<>* slot, std::string& order) {
  co_await Parked{slot};
  order += 'r';  // resumed
}

Task<void> waker(Loop& loop, std::coroutine_handle<>* slot, std::string& order) {
  loop.resume_soon(*slot);
  order += 'w';  // still in the waker: the parked one has not run yet
  co_return;
}
}  // namespace

TEST_CASE("yield() takes turns in order, and resume_soon() wakes a coroutine on the next turn, not nested") {
  auto queue = open_queue(default_backend());
  Loop loop(*queue);
  std::string turns;
  loop.spawn(take_turns(loop, 'a', turns));
  loop.spawn(take_turns(loop, 'b', turns));
  loop.run();
  CHECK(turns == "ababab");
  std::coroutine_handle<> slot;
  std::string order;
  loop.spawn(parked(&slot, order));
  loop.spawn(waker(loop, &slot, order));
  loop.run();
  CHECK(order == "wr");
}
