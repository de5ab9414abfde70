// Lab "idle_tracker": a hidden test. It is in the Gradescope autograder, never in a student handout
// (tools/lab handout leaves tests/labs/*/hidden/ out), and checks only what the handout asks for:
// here, the order of expiry among many connections touched in an interleaved way.
#include <vector>

#include "evq/epoll/lab/idle_tracker.hpp"
#include "evq/test/support.hpp"

using evq::epoll::Token;
using namespace evq::epoll::lab;
using namespace std::chrono_literals;
using Clock = IdleTracker::Clock;

TEST_CASE("a hundred connections, touched in turn, expire exactly in order of their last touch [1 pt]") {
  const Clock::time_point t0 = Clock::now();
  IdleTracker idle(1s);
  // Tokens 0..99 touched at 0..99 ms, then the even ones touched again at 100..149 ms.
  for (int i = 0; i < 100; ++i) idle.touch(static_cast<Token>(i), t0 + std::chrono::milliseconds(i));
  for (int i = 0; i < 100; i += 2)
    idle.touch(static_cast<Token>(i), t0 + std::chrono::milliseconds(100 + i / 2));
  std::vector<Token> expected;
  for (int i = 1; i < 100; i += 2)
    expected.push_back(static_cast<Token>(i));  // last touched 1, 3, ..., 99 ms
  for (int i = 0; i < 100; i += 2) expected.push_back(static_cast<Token>(i));  // then 100 .. 149 ms
  CHECK(idle.expire(t0 + 999ms).empty());
  std::vector<Token> expired = idle.expire(t0 + 10s);
  CHECK(expired == expected);
  CHECK(idle.size() == 0);
}
