// Task<T> on its own, no I/O: laziness, values, exceptions, who owns the frame, and the stack that
// symmetric transfer saves.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "evq/coro/task.hpp"

using evq::coro::Task;

namespace {

// Counts how many frames holding one are alive: the frame's locals die with the frame.
struct FrameCounter {
  static inline int alive = 0;
  FrameCounter() { ++alive; }
  ~FrameCounter() { --alive; }
};

// Drives a task that never really suspends (no I/O): awaits it from a coroutine that is resumed
// once, then reads the value. The Loop does this for real work; this keeps the tests self-contained.
template <typename T>
T run_ready(Task<T> task) {
  struct Runner {
    struct promise_type {
      Runner get_return_object() { return {}; }
      std::suspend_never initial_suspend() noexcept { return {}; }
      std::suspend_never final_suspend() noexcept { return {}; }
      void return_void() noexcept {}
      void unhandled_exception() { throw; }
    };
  };
  std::optional<T> out;
  auto body = [](Task<T> t, std::optional<T>& o) -> Runner { o.emplace(co_await std::move(t)); };
  body(std::move(task), out);
  REQUIRE_MESSAGE(out.has_value(), "the task suspended: run_ready is only for tasks that finish at once");
  return std::move(*out);
}

Task<int> forty_two(bool& started) {
  started = true;
  co_return 42;
}

Task<std::string> greet(std::string who) {
  co_return "hello, " + who;
}

Task<int> add_both() {
  bool ignored = false;
  int a = co_await forty_two(ignored);
  std::string g = co_await greet("reader");
  co_return a + static_cast<int>(g.size());
}

Task<int> fails() {
  throw std::runtime_error("inside the task");
  co_return 0;
}

Task<int> catches() {
  try {
    co_return co_await fails();
  } catch (const std::runtime_error& e) {
    co_return std::string(e.what()) == "inside the task" ? 1 : -1;
  }
}

Task<int> counted() {
  FrameCounter here;
  co_return 1;
}

Task<int> one() {
  co_return 1;
}

// A million awaits of tasks that finish at once, in one loop.
Task<long> many(long n) {
  long sum = 0;
  for (long i = 0; i < n; ++i) sum += co_await one();
  co_return sum;
}

}  // namespace

TEST_CASE("a task is lazy: its body runs only when it is awaited") {
  bool started = false;
  Task<int> t = forty_two(started);
  CHECK_FALSE_MESSAGE(started, "initial_suspend must suspend: the body ran at the call");
  CHECK(run_ready(std::move(t)) == 42);
  CHECK(started);
}

TEST_CASE("a task awaits other tasks and returns their combined value") {
  CHECK(run_ready(add_both()) == 42 + static_cast<int>(std::string("hello, reader").size()));
}

TEST_CASE("an exception thrown in a task comes out of the co_await that awaited it") {
  CHECK(run_ready(catches()) == 1);
  CHECK_THROWS_WITH_AS(run_ready(fails()), "inside the task", std::runtime_error);
}

TEST_CASE("destroying a task frees its frame, started or never started") {
  REQUIRE(FrameCounter::alive == 0);
  {
    Task<int> never = counted();  // suspended before the body: no FrameCounter yet
    CHECK(FrameCounter::alive == 0);
  }
  CHECK(run_ready(counted()) == 1);
  CHECK_MESSAGE(FrameCounter::alive == 0, "a finished task's frame (and its locals) must be gone");
}

TEST_CASE("a million awaits of tasks that finish at once do not grow the stack") {
  // If each finished task resumed its awaiter with a call (a resume(), or a symmetric transfer the
  // compiler did not turn into a tail call, as GCC at -O0), this loop would need a million nested
  // frames: a crash long before the end. Task's hand-over flag lets the awaiter go on without one.
  CHECK(run_ready(many(1'000'000)) == 1'000'000);
}
