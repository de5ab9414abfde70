#include "evq/coro/pool_echo_server.hpp"

#include <vector>

namespace evq::coro {

PoolEchoServer::PoolEchoServer(Pool& pool, NativeSocket listener)
    : pool_(pool), listener_(listener), scope_(pool) {
  pool_.associate(listener_);
}

void PoolEchoServer::run() {
  pool_.spawn(accept_loop());
  pool_.join();
}

PoolEchoServer::Stats PoolEchoServer::stats() const {
  return {accepted_.load(), closed_.load(), bytes_echoed_.load(), errors_.load(), accept_pauses_.load()};
}

// [snippet pool-accept-loop]
Task<void> PoolEchoServer::accept_loop() {
  for (;;) {
    AcceptResult a = co_await pool_.accept_one(listener_).in(scope_);
    if (a.error) {
      if (completion::is_aborted(a.error)) co_return;  // stop(): the scope was cancelled
      if (completion::is_machine_full(a.error)) {      // EMFILE and friends: pause, or spin for ever
        accept_pauses_.fetch_add(1);
        co_await pool_.sleep_for(std::chrono::milliseconds(100));
      }
      continue;  // any other failure costs that one connection only
    }
    accepted_.fetch_add(1);
    pool_.spawn(connection(std::move(a.socket)));  // it starts on some pool thread, soon
  }
}
// [/snippet pool-accept-loop]

// [snippet pool-connection]
Task<void> PoolEchoServer::connection(OwnedSocket sock) {
  const NativeSocket s = sock.get();         // associated already, by accept_one()
  std::vector<std::byte> buffer(16 * 1024);  // lent at every co_await below: it lives in this frame
  bool failed = false;
  for (;;) {
    IoResult r = co_await pool_.read(s, buffer).in(scope_);
    if (r.error) failed = !completion::is_aborted(r.error);
    if (r.error || r.end_of_stream()) break;
    // A peer that never reads leaves this coroutine here, in one write, reading nothing more.
    IoResult w = co_await pool_.write(s, std::span(buffer).first(r.bytes)).in(scope_);
    if (w.error) {
      failed = !completion::is_aborted(w.error);
      break;
    }
    bytes_echoed_.fetch_add(w.bytes);
  }
  (failed ? errors_ : closed_).fetch_add(1);
  pool_.close(std::move(sock));  // nothing is pending on it: every co_await above has returned
}
// [/snippet pool-connection]

}  // namespace evq::coro
