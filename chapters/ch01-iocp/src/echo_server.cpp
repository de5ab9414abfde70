#include "evq/iocp/echo_server.hpp"

#include <fmt/core.h>

#include <chrono>
#include <span>
#include <stdexcept>
#include <string>

#include "evq/common/accept_pause.hpp"
#include "evq/iocp/overlapped_io.hpp"

namespace evq::iocp {

// [snippet io-context]
// One overlapped operation in flight. It IS an OVERLAPPED (it derives from one), so the pointer the
// port hands back converts straight back to the context: static_cast<IoContext*>(overlapped).
// Everything the kernel may touch while the operation is pending lives here, and the context is
// freed only after its packet has been dequeued.
struct IoContext : OVERLAPPED {
  enum class Op { accept, recv, send };
  Op op = Op::accept;
  UniqueSocket socket;       // accept: the fresh socket AcceptEx fills; recv/send: the connection
  std::vector<char> buffer;  // accept: room for the two addresses; recv/send: the bytes to echo
  std::size_t to_send = 0;   // send: bytes received that must go back
  std::size_t sent = 0;      // send: how many of them went so far

  // Each new operation needs a zeroed OVERLAPPED: the kernel keeps its status in there.
  void reset_overlapped() { *static_cast<OVERLAPPED*>(this) = OVERLAPPED{}; }
};
// [/snippet io-context]

namespace {
constexpr ULONG_PTR kIoKey = 1;    // every socket is associated with this key
constexpr ULONG_PTR kQuitKey = 2;  // posted by stop(): one per thread
}  // namespace

EchoServer::EchoServer(EchoServerOptions options)
    : options_(options),
      concurrency_(options.concurrency != 0 ? options.concurrency : processor_count()),
      port_(concurrency_) {
  Narrator quiet(false);
  Narrator& say = options_.narrator ? *options_.narrator : quiet;
  say.step("CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, {}) -> a new port", concurrency_);
  say.aside("concurrency = CPUs ({}): at most that many threads run on this port at once", processor_count());

  listener_ = listen_loopback_socket(SOMAXCONN, options_.ipv6);
  family_ = options_.ipv6 ? AF_INET6 : AF_INET;
  listen_port_ = socket_port(listener_.get());
  say.step("WSASocketW(WSA_FLAG_OVERLAPPED) + bind({}:0) + listen -> listening on port {}",
           options_.ipv6 ? "[::1]" : "127.0.0.1", listen_port_);
  port_.associate(listener_.get(), kIoKey);
  say.step("CreateIoCompletionPort(listener, port, key {}, 0) -> AcceptEx completions come to the port",
           kIoKey);

  for (unsigned i = 0; i < options_.accepts_in_flight; ++i)
    if (!start_accept())
      throw std::runtime_error("AcceptEx: could not start the first accepts (out of sockets?)");
  say.step("AcceptEx x {} -> pending; each has its own context (OVERLAPPED + address buffer + socket)",
           options_.accepts_in_flight);

  unsigned count = options_.threads != 0 ? options_.threads : 2 * processor_count();
  for (unsigned i = 0; i < count; ++i) threads_.emplace_back([this] { worker(); });
  say.step("std::thread x {} -> each loops in GetQueuedCompletionStatus(port, INFINITE)", count);
  say.aside(
      "threads = 2 x CPUs: spares for when a running thread blocks elsewhere (Microsoft, \"I/O Completion Ports\")");
}

EchoServer::~EchoServer() {
  stop();
}

EchoStats EchoServer::stats() const {
  return {accepted_.load(), closed_clean_.load(), closed_error_.load(), bytes_echoed_.load(),
          accept_pauses_.load()};
}

std::size_t EchoServer::open_connections() const {
  // Read the closed counts first: `accepted` can only have grown since, so this never goes negative.
  std::uint64_t closed = closed_clean_.load() + closed_error_.load();
  return static_cast<std::size_t>(accepted_.load() - closed);
}

void EchoServer::track(IoContext* context) {
  std::lock_guard lock(mutex_);
  contexts_.insert(context);
}

void EchoServer::forget(IoContext* context) {
  std::lock_guard lock(mutex_);
  contexts_.erase(context);
}

// [snippet worker]
void EchoServer::worker() {
  for (;;) {
    // INFINITE, unless accepts are owed (out of sockets): then look again in 100 ms.
    Timeout timeout = owed_accepts_ > 0 ? Timeout(AcceptPause::kRetry) : std::nullopt;
    GetResult r = port_.get(timeout);
    if (r.status == GetStatus::closed) return;
    if (r.status == GetStatus::timed_out && !stopping_) start_owed_accepts();
    if (!r.has_packet()) continue;
    if (r.packet.key == kQuitKey) return;  // stop(): one quit packet per thread
    auto* context = static_cast<IoContext*>(r.packet.overlapped);
    handle(context, r.status == GetStatus::completed, r.packet.bytes);
  }
}
// [/snippet worker]

// [snippet handle]
void EchoServer::handle(IoContext* c, bool ok, DWORD bytes) {
  switch (c->op) {
    case IoContext::Op::accept:
      on_accepted(c, ok);
      return;
    case IoContext::Op::recv:
      if (!ok) return finish(c, false);        // reset, aborted: drop this connection only
      if (bytes == 0) return finish(c, true);  // the peer half-closed and everything was echoed
      c->to_send = bytes;
      c->sent = 0;
      return send_rest(c);
    case IoContext::Op::send:
      if (!ok) return finish(c, false);
      c->sent += bytes;
      bytes_echoed_ += bytes;
      if (c->sent < c->to_send) return send_rest(c);  // a partial send: send the rest
      return receive(c);                              // all echoed: lend the buffer to WSARecv again
  }
}
// [/snippet handle]

bool EchoServer::start_accept() {
  auto c = std::make_unique<IoContext>();
  c->op = IoContext::Op::accept;
  try {
    c->socket = overlapped_tcp_socket(family_);  // AcceptEx wants the new connection's socket made first
  } catch (const std::system_error&) {
    return false;  // out of sockets (WSAEMFILE, WSAENOBUFS)
  }
  c->buffer.resize(kAcceptAddressBytes);
  IoContext* raw = c.get();
  track(raw);
  Started s = iocp::start_accept(listener_.get(), raw->socket.get(), raw->buffer, *raw);
  if (s.state == Started::failed) {  // no packet will come: undo at once
    forget(raw);
    return false;  // unique_ptr frees it
  }
  c.release();  // owned by its pending operation until the packet is dequeued
  return true;
}

// [snippet owed-accepts]
// Starts the accepts that are owed; any that still cannot start stays owed for the next timeout.
void EchoServer::start_owed_accepts() {
  for (unsigned owed = owed_accepts_.exchange(0); owed > 0; --owed) {
    if (!start_accept()) {
      owed_accepts_ += owed;  // still out of sockets: keep the debt, try again in 100 ms
      return;
    }
  }
}
// [/snippet owed-accepts]

void EchoServer::on_accepted(IoContext* c, bool ok) {
  // Keep the number of pending accepts constant: every finished AcceptEx starts a new one. One that
  // cannot start is owed (see the header): the workers' 100 ms timeout retries it.
  if (!stopping_ && !start_accept() && owed_accepts_++ == 0) ++accept_pauses_;
  if (!ok) return finish(c, false);  // the connection was reset before we took it
  try {
    finish_accept(listener_.get(), c->socket.get());
    port_.associate(c->socket.get(), kIoKey);
  } catch (const std::system_error&) {
    return finish(c, false);
  }
  ++accepted_;
  c->buffer.assign(options_.buffer_size, '\0');
  receive(c);  // the same context now carries the connection's reads and writes
}

void EchoServer::receive(IoContext* c) {
  c->op = IoContext::Op::recv;
  c->reset_overlapped();
  Started s = start_recv(c->socket.get(), c->buffer, *c);
  // completed_now and pending both queue a packet: handle() runs when it is dequeued.
  if (s.state == Started::failed) finish(c, false);
}

void EchoServer::send_rest(IoContext* c) {
  c->op = IoContext::Op::send;
  c->reset_overlapped();
  std::span<const char> rest(c->buffer.data() + c->sent, c->to_send - c->sent);
  Started s = start_send(c->socket.get(), rest, *c);
  if (s.state == Started::failed) finish(c, false);
}

void EchoServer::finish(IoContext* c, bool clean) {
  if (c->op != IoContext::Op::accept) ++(clean ? closed_clean_ : closed_error_);
  forget(c);
  delete c;  // closes the socket; no operation of it is pending any more
}

// [snippet stop]
void EchoServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  Narrator quiet(false);
  Narrator& say = options_.narrator ? *options_.narrator : quiet;

  for (std::size_t i = 0; i < threads_.size(); ++i) port_.post(kQuitKey);
  say.step("PostQueuedCompletionStatus(key quit) x {} -> one per thread", threads_.size());
  for (auto& t : threads_) t.join();
  say.step("join -> every thread took its quit packet and returned");

  // Nobody handles packets now. Closing the sockets cancels their pending operations; each still
  // queues a (failed) packet, and only once it is dequeued may its OVERLAPPED and buffer go.
  listener_.reset();
  std::size_t pending = 0;
  {
    std::lock_guard lock(mutex_);
    for (IoContext* c : contexts_) c->socket.reset();
    pending = contexts_.size();
  }
  say.step("closesocket(listener and {} sockets with an operation in flight) -> operations cancelled",
           pending);
  std::size_t drained = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (operations_in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    GetResult r = port_.get(std::chrono::milliseconds(100));
    if (!r.has_packet() || r.packet.key == kQuitKey) continue;
    auto* c = static_cast<IoContext*>(r.packet.overlapped);
    forget(c);
    delete c;
    ++drained;
  }
  say.step("GetQueuedCompletionStatus x {} -> drained the cancelled operations; {} left", drained,
           operations_in_flight());
}
// [/snippet stop]

std::size_t EchoServer::operations_in_flight() const {
  std::lock_guard lock(mutex_);
  return contexts_.size();
}

}  // namespace evq::iocp
