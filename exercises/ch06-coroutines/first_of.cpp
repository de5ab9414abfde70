// YOUR FILE for lab ch06/first_of.
// Handout: notes/ch06-coroutines.md, "Lab 1: a when_any over two reads".
// Interface and contract: chapters/ch06-coroutines/include/evq/coro/lab/first_of.hpp.
// Replace every TODO(lab) body and keep the signatures; the grader builds this file and no other.
// Grade it: tools/lab grade ch06 --lab first_of
//
// Useful: Loop::spawn, Loop::read_for, Loop::cancel, Loop::resume_soon (evq/coro/loop.hpp), and an
// awaiter of your own (await_ready, await_suspend, await_resume) for the parent to wait on.
#include "evq/coro/lab/first_of.hpp"

#include <stdexcept>

namespace evq::coro::lab {

Task<FirstOf> first_of(Loop& loop, NativeSocket a, std::span<std::byte> buf_a, NativeSocket b,
                       std::span<std::byte> buf_b, std::chrono::milliseconds limit) {
  (void)loop;
  (void)a;
  (void)buf_a;
  (void)b;
  (void)buf_b;
  (void)limit;
  // TODO(lab): start both reads at once, let the first completion decide, cancel the other read
  // and wait until it is over too, then return both results.
  throw std::logic_error("TODO(lab): first_of is not written yet");
  co_return FirstOf{};
}

}  // namespace evq::coro::lab
