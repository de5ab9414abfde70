#include "evq/completion/echo_server.hpp"

#include <stdexcept>

namespace evq::completion {
namespace {
// User data: 0 is the listener's accept, ~0 is stop(), every other value a connection id. The low
// bit of a connection's user data tells the read (0) from the write (1): they are never both pending.
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

void EchoServer::stop() { queue_.post(kStopData); }

void EchoServer::run() {
  while (!stopping_) run_once(std::nullopt);
  shutdown();
}

std::size_t EchoServer::run_once(std::optional<std::chrono::milliseconds> timeout) {
  std::size_t n = queue_.wait(batch_, timeout);
  for (std::size_t i = 0; i < n; ++i) handle(batch_[i]);
  return n;
}

// [snippet echo-handle]
void EchoServer::handle(Completion& c) {
  if (c.op == Op::post && c.user_data == kStopData) return void(stopping_ = true);
  if (c.user_data == kAcceptData) return on_accept(c);
  std::uint64_t id = c.user_data;
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& conn = *it->second;
  if (conn.closing) {
    // The last completion of a detached connection: only now may its buffer go.
    connections_.erase(it);
    return;
  }
  if (c.error || c.end_of_stream()) {  // reset, aborted, or the client is done
    if (c.error) ++stats_.errors;
    return close(id, it);
  }
  if (c.op == Op::read) {  // echo what came: lend the same buffer, now for reading from
    stats_.bytes_echoed += c.bytes;
    queue_.write(conn.socket.get(), std::span(conn.buffer).first(c.bytes), id);
  } else {                 // the echo is out: lend the buffer for the next read
    queue_.read(conn.socket.get(), conn.buffer, id);
  }
}
// [/snippet echo-handle]

void EchoServer::on_accept(Completion& c) {
  if (stopping_) return;  // an accept that won the race with shutdown: its socket closes here
  queue_.accept(listener_, kAcceptData);  // keep one accept pending
  if (c.error) {
    ++stats_.errors;
    return;
  }
  std::uint64_t id = next_id_++;
  auto conn = std::make_unique<Connection>();
  conn->socket = std::move(c.accepted);
  conn->buffer.resize(buffer_size_);
  queue_.attach(conn->socket.get());
  queue_.read(conn->socket.get(), conn->buffer, id);
  connections_.emplace(id, std::move(conn));
  ++stats_.accepted;
}

void EchoServer::close(std::uint64_t id, decltype(connections_)::iterator it) {
  (void)id;
  ++stats_.closed;
  // Nothing else is pending on this connection (one operation at a time), so detach and drop it.
  queue_.detach(it->second->socket.get());
  connections_.erase(it);
}

void EchoServer::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  stopping_ = true;
  // Every connection has one operation pending, whose buffer the queue holds: detach cancels them,
  // and each connection is freed when its (aborted or real) completion comes back.
  for (auto& [id, conn] : connections_) {
    conn->closing = true;
    queue_.detach(conn->socket.get());
  }
  queue_.detach(listener_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (queue_.pending() > 0 && std::chrono::steady_clock::now() < deadline) run_once(std::chrono::milliseconds(100));
}

}  // namespace evq::completion
