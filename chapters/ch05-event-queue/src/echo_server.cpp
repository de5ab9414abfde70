#include "evq/port/echo_server.hpp"

#include <system_error>
#include <thread>

#include "evq/completion/completion.hpp"
#include "evq/port/blocking_scope.hpp"

namespace evq::port {

namespace {
constexpr std::uint64_t kListenerKey = 0;
constexpr std::size_t kBufferSize = 16 * 1024;
}  // namespace

EchoServer::EchoServer(OwnedSocket listener, unsigned concurrency, unsigned threads,
                       const std::string& backend)
    : port_(concurrency), io_(std::make_unique<PortIo>(port_, backend)), listener_(std::move(listener)) {
  io_->associate(listener_.get(), kListenerKey);
  io_->accept(listener_.get(), static_cast<std::uint64_t>(Step::accept));
  pool_ = std::make_unique<ThreadPool>(
      port_, [this](const Packet& p) { handle(p); }, threads);
}

EchoServer::~EchoServer() {
  stop();
}

void EchoServer::stop() {
  if (stopping_.exchange(true)) return;
  // Close the port first: the pool's threads return; packets still queued are dropped (they own
  // nothing). Then the I/O pump cancels and collects what is in flight, and only then may the
  // connections and their lent buffers go.
  pool_->stop();
  io_.reset();
  std::lock_guard lock(mutex_);
  connections_.clear();
}

// [snippet echo-handle]
void EchoServer::handle(const Packet& packet) {
  if (packet.key == kListenerKey)
    on_accept(packet);
  else
    on_io(packet);
}
// [/snippet echo-handle]

// [snippet echo-accept]
void EchoServer::on_accept(const Packet& packet) {
  OwnedSocket sock = io_->take_accepted(packet.user);
  if (stopping_) return;
  if (completion::is_machine_full(packet.error)) return pause_accepting(packet.error);
  io_->accept(listener_.get(), static_cast<std::uint64_t>(Step::accept));  // keep one accept pending
  if (packet.failed() || !sock) return;  // a connection reset before we took it: not our problem
  auto conn = std::make_unique<Connection>();
  conn->socket = std::move(sock);
  conn->buffer.resize(kBufferSize);
  Connection* c = conn.get();
  std::uint64_t id;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    connections_[id] = std::move(conn);
    ++stats_.accepted;
    pause_.end();  // accepting works (again), if it had paused
  }
  io_->associate(c->socket.get(), id);  // completion key = connection id
  io_->read(c->socket.get(), c->buffer, static_cast<std::uint64_t>(Step::read));
}
// [/snippet echo-accept]

// [snippet echo-pause]
// The connection the accept could not take still waits, so a new accept now would fail at once, for
// ever. This thread waits instead, inside a BlockingScope: the port counts it as blocked elsewhere
// and may release another waiter to serve the open connections meanwhile.
void EchoServer::pause_accepting(std::error_code why) {
  {
    std::lock_guard lock(mutex_);
    if (pause_.begin(why)) ++stats_.accept_pauses;
  }
  {
    BlockingScope blocking;
    std::this_thread::sleep_for(AcceptPause::kRetry);  // stop() joins this thread: 100 ms at most
  }
  if (!stopping_) io_->accept(listener_.get(), static_cast<std::uint64_t>(Step::accept));
}
// [/snippet echo-pause]

// [snippet echo-io]
void EchoServer::on_io(const Packet& packet) {
  Connection* c;
  {
    std::lock_guard lock(mutex_);
    auto it = connections_.find(packet.key);
    if (it == connections_.end()) return;
    c = it->second.get();  // one operation in flight per connection: only this thread uses it
  }
  if (packet.failed()) {  // a peer that reset, or our own cancel: end the connection
    {
      std::lock_guard lock(mutex_);
      ++stats_.reset;
    }
    drop(packet.key);
    return;
  }
  if (static_cast<Step>(packet.user) == Step::read) {
    if (packet.bytes == 0) {  // end of stream: the peer closed (or half-closed) its side
      drop(packet.key);
      return;
    }
    io_->write(c->socket.get(), std::span<const std::byte>(c->buffer.data(), packet.bytes),
               static_cast<std::uint64_t>(Step::write));
  } else {
    {
      std::lock_guard lock(mutex_);
      stats_.bytes_echoed += packet.bytes;
    }
    io_->read(c->socket.get(), c->buffer, static_cast<std::uint64_t>(Step::read));
  }
}
// [/snippet echo-io]

void EchoServer::drop(std::uint64_t id) {
  std::unique_ptr<Connection> conn;
  {
    std::lock_guard lock(mutex_);
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    conn = std::move(it->second);
    connections_.erase(it);
    ++stats_.closed;
  }
  io_->close(std::move(conn->socket));  // dissociated and closed in the pump, in order
}

EchoServer::Stats EchoServer::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::size_t EchoServer::open_connections() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

}  // namespace evq::port
