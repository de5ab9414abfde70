// What the ch06 lab tests share: every usable backend by name, loopback pairs, and a watchdog that
// ends a test whose coroutine would otherwise wait for ever.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "evq/common/net.hpp"
#include "evq/completion/backends.hpp"
#include "evq/coro/loop.hpp"
#include "evq/test/support.hpp"

namespace evq::coro::labtest {

using namespace std::chrono_literals;

// The backends a lab test runs on: every one this machine can run.
inline std::vector<std::string> usable_backends() {
  std::vector<std::string> names;
  for (const completion::BackendInfo& b : completion::backends())
    if (b.usable) names.push_back(b.name);
  REQUIRE_MESSAGE(!names.empty(), "no completion backend is usable here");
  return names;
}

// A loopback pair whose client side has a 10 s receive timeout, so no test can hang on it.
inline evq::TcpPair pair() {
  evq::TcpPair p = evq::tcp_pair();
  evq::set_receive_timeout(p.client.get(), 10'000);
  return p;
}

inline std::span<std::byte> bytes_of(std::string& s) {
  return std::as_writable_bytes(std::span(s));
}

// Runs on the loop beside the code under test: once `done` is set it ends (within 20 ms); if
// `done` is still unset after evq::test::kDeadline, it sets `fired` and calls `release()`, which
// must make the code under test finish (cancel its sockets, close a channel), so that loop.run()
// returns and the test can say what went wrong instead of hanging.
template <typename Release>
Task<void> watchdog(Loop& loop, const bool& done, bool& fired, Release release) {
  const auto deadline = std::chrono::steady_clock::now() + evq::test::kDeadline;
  while (!done) {
    if (std::chrono::steady_clock::now() >= deadline) {
      fired = true;
      release();
      co_return;
    }
    co_await loop.sleep_for(20ms);
  }
}

}  // namespace evq::coro::labtest
