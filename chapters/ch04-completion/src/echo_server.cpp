#include "evq/completion/echo_server.hpp"

#include <cstdint>
#include <stdexcept>

namespace evq::completion {
namespace {
// User data: 0 is the listener's accept, ~0 is stop(), anything else the address of a Connection
// (a connection has one operation pending at a time, so its address says everything).
constexpr UserData kAcceptData = 0;
constexpr UserData kStopData = ~UserData{0};
}  // namespace

EchoServer::EchoServer(CompletionQueue& queue, NativeSocket listener, std::size_t buffer_size)
    : queue_(queue), listener_(listener), buffer_size_(buffer_size), batch_(64) {
  queue_.attach(listener_);
  queue_.accept(listener_, kAcceptData);
}

EchoServer::~EchoServer() {
  try {
    shutdown();
  } catch (...) {
    // A destructor must not throw; shutdown() already tried its best within its deadline.
  }
}

void EchoServer::stop() {
  queue_.post(kStopData);
}

void EchoServer::run() {
  while (!stopping_) run_once(std::nullopt);
  shutdown();
}

std::size_t EchoServer::run_once(std::optional<std::chrono::milliseconds> timeout) {
  if (auto retry = pause_.time_left(); retry && (!timeout || *retry < *timeout)) timeout = retry;
  std::size_t n = queue_.wait(batch_, timeout);
  for (std::size_t i = 0; i < n; ++i) handle(batch_[i]);
  if (!stopping_ && pause_.take_retry()) queue_.accept(listener_, kAcceptData);  // one try, then see
  return n;
}

// [snippet echo-handle]
void EchoServer::handle(Completion& c) {
  if (c.op == Op::post && c.user_data == kStopData) return void(stopping_ = true);
  if (c.user_data == kAcceptData) return on_accept(c);
  // The user data is the connection itself: it lives until its last completion, so no lookup.
  auto* conn = reinterpret_cast<Connection*>(static_cast<std::uintptr_t>(c.user_data));
  if (conn->closing) {
    // The last completion of a detached connection: only now may its buffer go.
    connections_.erase(conn);
    return;
  }
  if (c.error || c.end_of_stream()) {  // reset, aborted, or the client is done
    if (c.error) ++stats_.errors;
    return close(conn);
  }
  if (c.op == Op::read) {  // echo what came: lend the same buffer, now for reading from
    stats_.bytes_echoed += c.bytes;
    queue_.write(conn->socket.get(), std::span(conn->buffer).first(c.bytes), c.user_data);
  } else {  // the echo is out: lend the buffer for the next read
    queue_.read(conn->socket.get(), conn->buffer, c.user_data);
  }
}
// [/snippet echo-handle]

// [snippet echo-accept]
void EchoServer::on_accept(Completion& c) {
  if (stopping_) return;           // an accept that won the race with shutdown: its socket closes here
  if (is_machine_full(c.error)) {  // the connection still waits: asking again now would spin
    if (pause_.begin(c.error)) {
      ++stats_.accept_pauses;
      if (narrator_)
        narrator_->step(
            "accept completed with \"{}\": no new accept for {} ms; {} open connection(s) are "
            "served meanwhile",
            c.error.message(), AcceptPause::kRetry.count(), connections_.size());
    }
    return;  // run_once() issues the next accept when the retry is due
  }
  if (pause_.paused()) {  // accepting works again: the episode is over
    const std::uint64_t retries = pause_.end();
    if (narrator_) narrator_->step("accepting again after {} retries", retries);
  }
  queue_.accept(listener_, kAcceptData);  // keep one accept pending
  if (c.error) {                          // that one connection was lost before we took it
    ++stats_.errors;
    return;
  }
  auto owned = std::make_unique<Connection>();
  Connection* conn = owned.get();
  conn->socket = std::move(c.accepted);
  conn->buffer.resize(buffer_size_);
  connections_.emplace(conn, std::move(owned));
  queue_.attach(conn->socket.get());
  queue_.read(conn->socket.get(), conn->buffer, reinterpret_cast<std::uintptr_t>(conn));
  ++stats_.accepted;
}
// [/snippet echo-accept]

void EchoServer::close(Connection* conn) {
  ++stats_.closed;
  // Nothing else is pending on this connection (one operation at a time), so detach and drop it.
  queue_.detach(conn->socket.get());
  connections_.erase(conn);
}

void EchoServer::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  stopping_ = true;
  // Every connection has one operation pending, whose buffer the queue holds: detach cancels them,
  // and each connection is freed when its (aborted or real) completion comes back.
  for (auto& [key, conn] : connections_) {
    conn->closing = true;
    ++stats_.closed;  // the server closes it: the summary's "closed" counts every connection that ended
    queue_.detach(conn->socket.get());
  }
  queue_.detach(listener_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (queue_.pending() > 0 && std::chrono::steady_clock::now() < deadline)
    run_once(std::chrono::milliseconds(100));
}

}  // namespace evq::completion
