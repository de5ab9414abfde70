// Lab "first of", reference solution.
#include "evq/coro/lab/first_of.hpp"

namespace evq::coro::lab {

namespace {

// What the two reads and the waiting parent share. It lives in first_of's frame, which stays
// suspended until both reads are over, so the children may point at it.
struct Race {
  Race(Loop& l, NativeSocket a, NativeSocket b) : loop(l), sock{a, b} {}
  Loop& loop;
  NativeSocket sock[2];
  FirstOf result;
  bool decided = false;
  int running = 2;  // reads not over yet
  std::coroutine_handle<> parent;
};

// One side of the race: its read (cancelled at the limit), then its part of the decision.
Task<void> one_read(Race& race, int side, std::span<std::byte> buffer, std::chrono::milliseconds limit) {
  IoResult r = co_await race.loop.read_for(race.sock[side], buffer, limit);
  (side == 0 ? race.result.a : race.result.b) = r;
  if (!race.decided) {
    race.decided = true;
    // The first completion decides. It is aborted only if the limit passed: nothing else has
    // cancelled anything yet. Data, end of stream or an error: this side wins.
    if (!completion::is_aborted(r.error))
      race.result.winner = side == 0 ? FirstOf::Winner::a : FirstOf::Winner::b;
    race.loop.cancel(race.sock[1 - side]);  // the other read ends soon, aborted or with its data
  }
  if (--race.running == 0 && race.parent) race.loop.resume_soon(race.parent);
}

// Suspends the parent until both reads are over.
struct BothOver {
  Race& race;
  bool await_ready() const noexcept { return race.running == 0; }
  void await_suspend(std::coroutine_handle<> parent) { race.parent = parent; }
  void await_resume() const noexcept {}
};

}  // namespace

Task<FirstOf> first_of(Loop& loop, NativeSocket a, std::span<std::byte> buf_a, NativeSocket b,
                       std::span<std::byte> buf_b, std::chrono::milliseconds limit) {
  Race race(loop, a, b);
  loop.spawn(one_read(race, 0, buf_a, limit));  // each runs to its co_await at once: both issued
  loop.spawn(one_read(race, 1, buf_b, limit));
  co_await BothOver{race};
  co_return race.result;
}

}  // namespace evq::coro::lab
