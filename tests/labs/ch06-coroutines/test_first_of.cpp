// Lab "first of": a when_any over two reads, with a timeout. Every test runs on every backend.
#include <string>

#include "evq/completion/backends.hpp"
#include "evq/coro/lab/first_of.hpp"
#include "lab_support.hpp"

using namespace std::chrono_literals;
using evq::completion::CompletionQueue;
using evq::completion::is_aborted;
using evq::coro::IoResult;
using evq::coro::Loop;
using evq::coro::Task;
using evq::coro::lab::first_of;
using evq::coro::lab::FirstOf;
using evq::coro::labtest::bytes_of;
using Winner = evq::coro::lab::FirstOf::Winner;

namespace {

// Two loopback pairs on one loop: the test writes on the clients, first_of reads the servers.
struct Race {
  explicit Race(const std::string& backend) : queue(evq::completion::open_queue(backend)), loop(*queue) {
    queue->attach(a.server.get());
    queue->attach(b.server.get());
  }
  ~Race() {
    queue->detach(a.server.get());
    queue->detach(b.server.get());
  }
  std::unique_ptr<CompletionQueue> queue;
  Loop loop;
  evq::TcpPair a = evq::coro::labtest::pair();
  evq::TcpPair b = evq::coro::labtest::pair();
  std::string buf_a = std::string(64, '#');  // '#': the canary, for "never written"
  std::string buf_b = std::string(64, '#');
};

struct Outcome {
  FirstOf result;
  bool finished = false;
  bool watchdog_fired = false;
  std::string threw;
};

Task<void> await_first_of(Race& r, std::chrono::milliseconds limit, Outcome& out) {
  try {
    out.result = co_await first_of(r.loop, r.a.server.get(), bytes_of(r.buf_a), r.b.server.get(),
                                   bytes_of(r.buf_b), limit);
  } catch (const std::exception& e) {
    out.threw = e.what();
  }
  out.finished = true;
}

// Runs first_of to its end (a watchdog cancels both reads if it has not returned after 10 s).
Outcome run_first_of(Race& r, std::chrono::milliseconds limit) {
  Outcome out;
  r.loop.spawn(await_first_of(r, limit, out));
  r.loop.spawn(evq::coro::labtest::watchdog(r.loop, out.finished, out.watchdog_fired, [&r] {
    r.queue->cancel(r.a.server.get());
    r.queue->cancel(r.b.server.get());
  }));
  r.loop.run();
  REQUIRE_MESSAGE(out.threw.empty(), "first_of threw: " << out.threw);
  CHECK_MESSAGE(!out.watchdog_fired,
                "first_of had not returned after 10 s: are both reads issued at once, and is the loser's "
                "read cancelled (not left to run to its limit)?");
  return out;
}

std::string error_of(const IoResult& r) {
  return r.error ? r.error.message() : "no error";
}

Task<IoResult> read_once(Loop& loop, evq::completion::NativeSocket s, std::string& into) {
  co_return co_await loop.read_for(s, bytes_of(into), 5000ms);
}

}  // namespace

TEST_CASE("the first socket to deliver wins, whichever of the two it is [2 pts]") {
  for (const std::string& backend : evq::coro::labtest::usable_backends()) {
    for (Winner sender : {Winner::b, Winner::a}) {
      INFO("backend " << backend << ": data sent on socket " << to_string(sender) << " only");
      Race r(backend);
      evq::write_all((sender == Winner::a ? r.a : r.b).client.get(), "hello");
      Outcome out = run_first_of(r, 60s);
      CHECK(to_string(out.result.winner) == std::string(to_string(sender)));
      const IoResult& won = sender == Winner::a ? out.result.a : out.result.b;
      const IoResult& lost = sender == Winner::a ? out.result.b : out.result.a;
      CHECK_MESSAGE(!won.error, "the winner's read: " << error_of(won));
      CHECK(won.bytes == 5);
      CHECK((sender == Winner::a ? r.buf_a : r.buf_b).substr(0, 5) == "hello");
      CHECK_MESSAGE(is_aborted(lost.error), "the loser's read should be cancelled, got: " << error_of(lost));
    }
  }
}

TEST_CASE("the losing read is cancelled and waited for: nothing pending, its buffer untouched [2 pts]") {
  for (const std::string& backend : evq::coro::labtest::usable_backends()) {
    INFO("backend " << backend);
    Race r(backend);
    evq::write_all(r.a.client.get(), "first");
    Outcome out = run_first_of(r, 60s);
    CHECK(to_string(out.result.winner) == std::string("a"));
    CHECK_MESSAGE(r.queue->pending() == 0, "when first_of returned, "
                                               << r.queue->pending()
                                               << " read(s) were still pending: cancel the loser, then wait "
                                                  "for its completion before returning");
    // Data that comes later on the losing socket is for whoever reads next, not for buf_b.
    evq::write_all(r.b.client.get(), "later");
    std::string next(16, '\0');
    IoResult again = r.loop.run(read_once(r.loop, r.b.server.get(), next));
    CHECK_MESSAGE(!again.error, "the next read on the losing socket: " << error_of(again));
    CHECK(next.substr(0, again.bytes) == "later");
    CHECK_MESSAGE(r.buf_b == std::string(64, '#'), "the losing buffer was written to: " << r.buf_b);
  }
}

TEST_CASE("a read that lost the race but got data anyway reports its bytes [2 pts]") {
  for (const std::string& backend : evq::coro::labtest::usable_backends()) {
    INFO("backend " << backend << ": both sockets have data before first_of starts");
    Race r(backend);
    evq::write_all(r.a.client.get(), "on a");
    evq::write_all(r.b.client.get(), "on b!");
    Outcome out = run_first_of(r, 60s);
    CHECK(out.result.winner != Winner::none);
    CHECK_MESSAGE(!out.result.a.error, "a: " << error_of(out.result.a));
    CHECK_MESSAGE(!out.result.b.error, "b: " << error_of(out.result.b));
    CHECK(out.result.a.bytes == 4);
    CHECK(out.result.b.bytes == 5);
    CHECK(r.buf_a.substr(0, 4) == "on a");
    CHECK(r.buf_b.substr(0, 5) == "on b!");
  }
}

TEST_CASE("with no data within the limit there is no winner, and both reads end [1 pt]") {
  for (const std::string& backend : evq::coro::labtest::usable_backends()) {
    INFO("backend " << backend);
    Race r(backend);
    Outcome out = run_first_of(r, 100ms);
    CHECK(to_string(out.result.winner) == std::string("none"));
    CHECK_MESSAGE(is_aborted(out.result.a.error), "a: " << error_of(out.result.a));
    CHECK_MESSAGE(is_aborted(out.result.b.error), "b: " << error_of(out.result.b));
    CHECK(r.queue->pending() == 0);
  }
}

TEST_CASE("an error is a result: a reset on one socket wins with its error [1 pt]") {
  for (const std::string& backend : evq::coro::labtest::usable_backends()) {
    INFO("backend " << backend << ": the peer of socket a resets its connection");
    Race r(backend);
    evq::set_linger_reset(r.a.client.get());
    r.a.client.reset();  // RST
    Outcome out = run_first_of(r, 60s);
    CHECK(to_string(out.result.winner) == std::string("a"));
    CHECK_MESSAGE(out.result.a.error, "a reset should complete the read with an error");
    CHECK_MESSAGE(!is_aborted(out.result.a.error), "a: " << error_of(out.result.a));
    CHECK(is_aborted(out.result.b.error));
  }
}
