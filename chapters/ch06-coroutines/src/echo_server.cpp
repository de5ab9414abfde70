#include "evq/coro/echo_server.hpp"

#include <string>
#include <vector>

namespace evq::coro {

EchoServer::EchoServer(Loop& loop, NativeSocket listener) : loop_(loop), listener_(listener) {
  loop_.queue().attach(listener_);
  loop_.on_stop(&EchoServer::on_stop, this);
}

EchoServer::~EchoServer() {
  loop_.on_stop(nullptr, nullptr);
  loop_.queue().detach(listener_);
}

void EchoServer::run() {
  loop_.spawn(accept_loop());
  loop_.run();
}

void EchoServer::on_stop(void* self) {
  auto* server = static_cast<EchoServer*>(self);
  server->stopping_ = true;
  server->loop_.cancel(server->listener_);                       // the accept completes aborted
  for (NativeSocket s : server->open_) server->loop_.cancel(s);  // so do reads and writes
  server->loop_.on_stop(nullptr, nullptr);                       // nothing left to wait for but them
}

// [snippet coro-accept-loop]
Task<void> EchoServer::accept_loop() {
  while (!stopping_) {
    AcceptResult a = co_await loop_.accept_one(listener_);
    if (a.error) {
      if (stopping_ || completion::is_aborted(a.error)) co_return;
      if (completion::is_machine_full(a.error)) {  // EMFILE and friends: pause, or spin for ever
        ++stats_.accept_pauses;
        co_await loop_.sleep_for(std::chrono::milliseconds(100));
      }
      continue;  // any other failure costs that one connection only
    }
    ++stats_.accepted;
    loop_.spawn(connection(std::move(a.socket)));
  }
}
// [/snippet coro-accept-loop]

// [snippet coro-connection]
Task<void> EchoServer::connection(completion::OwnedSocket sock) {
  const NativeSocket s = sock.get();
  loop_.queue().attach(s);
  open_.insert(s);
  std::vector<std::byte> buffer(16 * 1024);  // lent at every co_await below: it lives in this frame
  bool failed = false;
  while (!stopping_) {
    IoResult r = co_await loop_.read(s, buffer);
    if (r.error) failed = !completion::is_aborted(r.error);
    if (r.error || r.end_of_stream()) break;
    // A peer that never reads leaves this coroutine here, in one write, reading nothing more.
    IoResult w = co_await loop_.write(s, std::span(buffer).first(r.bytes));
    if (w.error) {
      failed = !completion::is_aborted(w.error);
      break;
    }
    stats_.bytes_echoed += w.bytes;
  }
  ++(failed ? stats_.errors : stats_.closed);
  open_.erase(s);
  loop_.queue().detach(s);  // nothing is pending: every co_await above has returned
}  // `sock` closes here
// [/snippet coro-connection]

}  // namespace evq::coro
