// Lab "channel": a bounded channel of strings between coroutines on one Loop. No sockets: the loop
// only resumes coroutines. A coroutine that is never woken is reported by the loop itself: run()
// throws "tasks are suspended, but no operation or timer can ever resume them".
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "evq/completion/backends.hpp"
#include "evq/coro/lab/channel.hpp"
#include "lab_support.hpp"

using evq::coro::Loop;
using evq::coro::Task;
using evq::coro::lab::Channel;

namespace {

struct Fixture {
  std::unique_ptr<evq::completion::CompletionQueue> queue =
      evq::completion::open_queue(evq::completion::default_backend());
  Loop loop{*queue};

  // Runs the loop until every coroutine has ended; returns what went wrong, if anything.
  std::string run() {
    try {
      loop.run();
      return "";
    } catch (const std::logic_error& e) {
      return std::string(e.what()) + " (a coroutine waits in the channel and nobody wakes it)";
    } catch (const std::exception& e) {
      return std::string("threw: ") + e.what();
    }
  }
};

std::string show(const std::optional<std::string>& v) {
  return v ? *v : "nullopt";
}

// "sent a | got a": what happened, in order, readable in a failed CHECK.
std::string joined(const std::vector<std::string>& log) {
  std::string out;
  for (const std::string& e : log) out += (out.empty() ? "" : " | ") + e;
  return out;
}

Task<void> produce(Channel& ch, std::vector<std::string> values, std::vector<std::string>& log,
                   std::size_t& most_buffered) {
  for (std::string& v : values) {
    const std::string name = v;
    bool sent = co_await ch.send(std::move(v));
    log.push_back((sent ? "sent " : "refused ") + name);
    most_buffered = std::max(most_buffered, ch.size());
  }
}

Task<void> consume(Loop& loop, Channel& ch, int count, int yields_first, std::vector<std::string>& log,
                   std::size_t& most_buffered) {
  for (int i = 0; i < yields_first; ++i) co_await loop.yield();
  for (int i = 0; i < count; ++i) {
    most_buffered = std::max(most_buffered, ch.size());
    std::optional<std::string> v = co_await ch.receive();
    log.push_back("got " + show(v));
  }
}

Task<void> receive_one(Channel& ch, std::string& into) {
  into = show(co_await ch.receive());
}

Task<void> send_one(Channel& ch, std::string value, std::string& result) {
  result = (co_await ch.send(std::move(value))) ? "true" : "false";
}

Task<void> close_after_turns(Loop& loop, Channel& ch, int turns) {
  for (int i = 0; i < turns; ++i) co_await loop.yield();
  ch.close();
}

}  // namespace

TEST_CASE("values come out in the order they were sent, never more than the capacity buffered [2 pts]") {
  Fixture f;
  Channel ch(f.loop, 2);
  std::vector<std::string> sent_log, got_log;
  std::size_t most = 0;
  std::vector<std::string> values;
  for (int i = 0; i < 10; ++i) values.push_back("v" + std::to_string(i));
  f.loop.spawn(produce(ch, values, sent_log, most));
  f.loop.spawn(consume(f.loop, ch, 10, 0, got_log, most));
  std::string problem = f.run();
  REQUIRE_MESSAGE(problem.empty(), problem);
  std::vector<std::string> expected;
  for (const std::string& v : values) expected.push_back("got " + v);
  CHECK(joined(got_log) == joined(expected));
  CHECK_MESSAGE(most <= 2, "the channel held " << most << " values; its capacity is 2");
}

TEST_CASE("a full channel makes the sender wait until a receive makes room [2 pts]") {
  Fixture f;
  Channel ch(f.loop, 1);
  std::vector<std::string> log;  // both coroutines write here, in the order things happen
  std::size_t most = 0;
  f.loop.spawn(produce(ch, {"a", "b"}, log, most));
  f.loop.spawn(consume(f.loop, ch, 2, 3, log, most));  // the consumer lets 3 turns pass first
  std::string problem = f.run();
  REQUIRE_MESSAGE(problem.empty(), problem);
  // "a" fits; "b" waits until the consumer's first receive lets it in behind "a". The consumer goes
  // on and takes "b" at once; the sender, woken, runs on the next turn.
  CHECK(joined(log) == "sent a | got a | got b | sent b");
}

TEST_CASE("receivers that wait are served first come, first served [1 pt]") {
  Fixture f;
  Channel ch(f.loop, 4);
  std::string first, second, third;
  f.loop.spawn(receive_one(ch, first));
  f.loop.spawn(receive_one(ch, second));
  f.loop.spawn(receive_one(ch, third));
  std::vector<std::string> log;
  std::size_t most = 0;
  f.loop.spawn(produce(ch, {"x", "y", "z"}, log, most));
  std::string problem = f.run();
  REQUIRE_MESSAGE(problem.empty(), problem);
  CHECK(first == "x");
  CHECK(second == "y");
  CHECK(third == "z");
}

TEST_CASE("close drains what is buffered, then gives nullopt, and wakes the receivers waiting [2 pts]") {
  Fixture f;
  {
    INFO("two values buffered, then close(): four receives");
    Channel ch(f.loop, 4);
    std::vector<std::string> log;
    std::size_t most = 0;
    f.loop.spawn(produce(ch, {"one", "two"}, log, most));
    ch.close();
    f.loop.spawn(consume(f.loop, ch, 4, 0, log, most));
    std::string problem = f.run();
    REQUIRE_MESSAGE(problem.empty(), problem);
    CHECK(joined(log) == "sent one | sent two | got one | got two | got nullopt | got nullopt");
  }
  {
    INFO("a receiver waits on an empty channel, then close()");
    Channel ch(f.loop, 4);
    std::string got = "(never woken)";
    f.loop.spawn(receive_one(ch, got));
    f.loop.spawn(close_after_turns(f.loop, ch, 2));
    std::string problem = f.run();
    REQUIRE_MESSAGE(problem.empty(), problem);
    CHECK(got == "nullopt");
  }
}

TEST_CASE("a send after close, or one still waiting when close comes, returns false [1 pt]") {
  Fixture f;
  Channel ch(f.loop, 1);
  std::string first, waiting, after;
  f.loop.spawn(send_one(ch, "a", first));    // fits
  f.loop.spawn(send_one(ch, "b", waiting));  // full: waits
  f.loop.spawn(close_after_turns(f.loop, ch, 2));
  std::string problem = f.run();
  REQUIRE_MESSAGE(problem.empty(), problem);
  f.loop.spawn(send_one(ch, "c", after));
  std::string r1, r2;
  f.loop.spawn(receive_one(ch, r1));
  f.loop.spawn(receive_one(ch, r2));
  problem = f.run();
  REQUIRE_MESSAGE(problem.empty(), problem);
  CHECK(first == "true");
  CHECK(waiting == "false");
  CHECK(after == "false");
  CHECK(r1 == "a");
  CHECK_MESSAGE(r2 == "nullopt", "only the value sent before close() may come out, got " << r2);
}

TEST_CASE("a woken coroutine runs on the loop's next turn, not inside the call that woke it [1 pt]") {
  Fixture f;
  Channel ch(f.loop, 1);
  std::string order;
  auto receiver = [](Channel& c, std::string& o) -> Task<void> {
    std::optional<std::string> v = co_await c.receive();
    o += "R(" + show(v) + ")";
  };
  auto sender = [](Channel& c, std::string& o) -> Task<void> {
    co_await c.send("x");
    o += "S";  // the receiver was woken by this send, but must not have run yet
  };
  f.loop.spawn(receiver(ch, order));
  f.loop.spawn(sender(ch, order));
  std::string problem = f.run();
  REQUIRE_MESSAGE(problem.empty(), problem);
  CHECK_MESSAGE(order == "SR(x)", "use loop.resume_soon(waiter), not waiter.resume()");
}

TEST_CASE("a capacity of 0 is refused [1 pt]") {
  Fixture f;
  CHECK_THROWS_AS(Channel(f.loop, 0), std::invalid_argument);
}
