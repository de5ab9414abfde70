// Lab "first of", hidden tests (Gradescope only): what the handout asks for, seen from another side.
#include <string>

#include "evq/completion/backends.hpp"
#include "evq/coro/lab/first_of.hpp"
#include "../lab_support.hpp"

using namespace std::chrono_literals;
using evq::completion::is_aborted;
using evq::coro::Loop;
using evq::coro::Task;
using evq::coro::lab::first_of;
using evq::coro::lab::FirstOf;
using evq::coro::labtest::bytes_of;

namespace {
Task<void> await_it(Loop& loop, evq::TcpPair& a, std::string& buf_a, evq::TcpPair& b, std::string& buf_b,
                    FirstOf& out, bool& done) {
  out = co_await first_of(loop, a.server.get(), bytes_of(buf_a), b.server.get(), bytes_of(buf_b), 60s);
  done = true;
}
}  // namespace

TEST_CASE("end of stream is a result: a peer that closes wins with 0 bytes and no error [1 pt]") {
  for (const std::string& backend : evq::coro::labtest::usable_backends()) {
    INFO("backend " << backend << ": the peer of socket b shuts down its sending side");
    auto queue = evq::completion::open_queue(backend);
    Loop loop(*queue);
    evq::TcpPair a = evq::coro::labtest::pair(), b = evq::coro::labtest::pair();
    queue->attach(a.server.get());
    queue->attach(b.server.get());
    std::string buf_a(16, '#'), buf_b(16, '#');
    evq::shutdown_write(b.client.get());
    FirstOf out;
    bool done = false, fired = false;
    loop.spawn(await_it(loop, a, buf_a, b, buf_b, out, done));
    loop.spawn(evq::coro::labtest::watchdog(loop, done, fired, [&] {
      queue->cancel(a.server.get());
      queue->cancel(b.server.get());
    }));
    loop.run();
    CHECK_MESSAGE(!fired, "first_of had not returned after 10 s");
    CHECK(to_string(out.winner) == std::string("b"));
    CHECK_MESSAGE(!out.b.error, "b: " << out.b.error.message());
    CHECK(out.b.bytes == 0);
    CHECK(is_aborted(out.a.error));
    queue->detach(a.server.get());
    queue->detach(b.server.get());
  }
}
