// Lab "first of": a when_any over two reads, with a timeout.
//
// co_await first_of(loop, a, buf_a, b, buf_b, limit) reads from two sockets at once and returns
// when the first of the two reads completes (that socket is the winner), or when `limit` has passed
// with neither (no winner). The contract:
//  - both reads are issued at once: a peer that sends only on `b` wins however long `a` stays silent;
//  - the winner's result is what its read gave: bytes, end of stream (0 bytes), or an error;
//  - before it returns, first_of cancels the read still pending and waits for its completion: when
//    the co_await returns, no read is pending on either socket and neither buffer is lent any more
//    (ch04's lending contract: a cancelled read may still write into its buffer until it completes);
//  - nothing is lost: a read that completed with data although it lost (it raced the cancel, or the
//    data was there for both) reports its bytes; a read that was cancelled reports operation_aborted;
//  - with no winner, both reads end (by the timeout, or with data that came just too late).
// Both sockets are attached to the loop's queue by the caller.
//
// Your file: exercises/ch06-coroutines/first_of.cpp.
#pragma once

#include <chrono>
#include <span>

#include "evq/coro/loop.hpp"

namespace evq::coro::lab {

struct FirstOf {
  enum class Winner { a, b, none };
  Winner winner = Winner::none;
  IoResult a;  // what the read on `a` gave (operation_aborted if it was cancelled or timed out)
  IoResult b;  // the same for `b`
};

inline const char* to_string(FirstOf::Winner w) {
  switch (w) {
    case FirstOf::Winner::a:
      return "a";
    case FirstOf::Winner::b:
      return "b";
    case FirstOf::Winner::none:
      break;
  }
  return "none";
}

Task<FirstOf> first_of(Loop& loop, NativeSocket a, std::span<std::byte> buf_a, NativeSocket b,
                       std::span<std::byte> buf_b, std::chrono::milliseconds limit);

}  // namespace evq::coro::lab
