#include "evq/port/port_io.hpp"

#include <chrono>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#ifndef _WIN32
#include <sys/socket.h>

#include <cerrno>

#include "evq/common/net.hpp"
#endif

#include "evq/completion/backends.hpp"
#include "evq/completion/queue.hpp"

namespace evq::port {

using completion::Completion;
using completion::CompletionQueue;
using completion::Op;

namespace {
constexpr completion::UserData kWake = ~completion::UserData{0};  // "look at your requests"
}

class PortIo::Pump {
 public:
  Pump(Port& port, const std::string& backend)
      : port_(port),
        queue_(completion::open_queue(backend.empty() ? completion::default_backend() : backend)),
        thread_([this] { run(); }) {}

  ~Pump() {
    submit([this] { stopping_ = true; });
    thread_.join();
  }

  // Runs `request` on the pump thread (the only thread that may touch the ch04 queue).
  // The wake-up (a post into the ch04 queue: a syscall, and a context switch if the pump sleeps)
  // is sent only to a pump that is asleep, or about to be, and only once: a pump that is busy
  // delivering completions takes the request on its next turn anyway.
  void submit(std::function<void()> request) {
    bool wake;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(std::move(request));
      wake = asleep_;
      asleep_ = false;
    }
    if (wake) queue_->post(kWake);
  }

  // Called on the pump thread: remember what an operation is for, get the ch04 user data for it.
  completion::UserData remember(NativeSocket sock, std::uint64_t user) {
    auto it = keys_.find(sock);
    if (it == keys_.end()) throw std::logic_error("PortIo: operation on a socket that is not associated");
    completion::UserData id = next_id_++;
    ops_[id] = {sock, it->second, user};
    ++in_flight_[sock];
    return id;
  }

  OwnedSocket take_accepted(std::uint64_t user) {
    std::lock_guard lock(mutex_);
    auto it = accepted_.find(user);
    if (it == accepted_.end()) return OwnedSocket();
    OwnedSocket sock = std::move(it->second);
    accepted_.erase(it);
    return sock;
  }

  Port& port_;
  std::unique_ptr<CompletionQueue> queue_;
  std::unordered_map<NativeSocket, std::uint64_t> keys_;  // pump thread only: socket -> completion key
  struct Operation {
    NativeSocket sock;
    std::uint64_t key, user;
  };
  // Pump thread only: what each ch04 operation is for, how many are in flight per socket, and the
  // sockets handed to close() that wait for their last completion before they are closed.
  std::unordered_map<completion::UserData, Operation> ops_;
  std::unordered_map<NativeSocket, std::size_t> in_flight_;
  std::unordered_map<NativeSocket, OwnedSocket> closing_;
  // Pump thread only: where each pending connect goes (a backend may read it after the call).
  std::unordered_map<completion::UserData, std::unique_ptr<completion::Endpoint>> connecting_;

 private:
  void run();
  bool take_requests();
  void deliver(Completion& c);

  std::mutex mutex_;
  std::vector<std::function<void()>> requests_;  // guarded by mutex_
  bool asleep_ = false;  // guarded by mutex_: the pump found no request and is going to wait
  std::unordered_map<std::uint64_t, OwnedSocket> accepted_;  // guarded by mutex_
  completion::UserData next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

// Runs the requests submitted so far. Returns whether there were none, in which case the pump is
// marked asleep: the next submit() wakes it. (A submit that comes between this and the wait still
// finds the pump: its wake-up stays queued in the ch04 queue, and the wait returns at once.)
bool PortIo::Pump::take_requests() {
  std::vector<std::function<void()>> todo;
  {
    std::lock_guard lock(mutex_);
    todo.swap(requests_);
    asleep_ = todo.empty();
  }
  for (auto& request : todo) {
    try {
      request();
    } catch (const std::exception&) {
      // A request for a socket that is gone (closed meanwhile): nothing to complete.
    }
  }
  return todo.empty();
}

// [snippet pump-deliver]
void PortIo::Pump::deliver(Completion& c) {
  if (c.op == Op::post) return;  // our own wake-ups
  auto it = ops_.find(c.user_data);
  if (it == ops_.end()) return;
  Operation op = it->second;
  ops_.erase(it);
  connecting_.erase(c.user_data);
  if (--in_flight_[op.sock] == 0) {
    in_flight_.erase(op.sock);
    closing_.erase(op.sock);  // a socket waiting to be closed has no operation left: close it now
  }
  if (c.op == Op::accept && c.ok()) {
    std::lock_guard lock(mutex_);
    accepted_[op.user] = std::move(c.accepted);  // AcceptEx: the new socket comes with the packet
  }
  Packet packet;
  packet.key = op.key;
  packet.bytes = static_cast<std::uint32_t>(c.bytes);
  packet.user = op.user;
  packet.error = c.error;
  port_.post(packet);  // the I/O completion becomes a packet like any other
}
// [/snippet pump-deliver]

void PortIo::Pump::run() {
  std::vector<Completion> batch(64);
  for (;;) {
    // Requests first, and until there are none: each may have been submitted without a wake-up.
    while (!take_requests()) {
    }
    if (stopping_) break;
    std::size_t n = queue_->wait(batch, std::nullopt);
    {
      std::lock_guard lock(mutex_);
      asleep_ = false;  // awake and delivering: what is submitted meanwhile waits for the next turn
    }
    for (std::size_t i = 0; i < n; ++i) deliver(batch[i]);
  }
  // Shutting down: cancel everything, then collect the completions (bounded: a backend that lost
  // one must not hang the program).
  for (auto& [sock, key] : keys_) queue_->cancel(sock);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (queue_->pending() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::size_t n = queue_->wait(batch, std::chrono::milliseconds(50));
    for (std::size_t i = 0; i < n; ++i) deliver(batch[i]);
  }
  for (auto& [sock, key] : keys_) {
    try {
      queue_->detach(sock);
    } catch (const std::exception&) {
      // The caller closed it without close(): nothing is left to detach, and nothing to lose.
    }
  }
  keys_.clear();
  closing_.clear();
}

PortIo::PortIo(Port& port, const std::string& backend) : pump_(std::make_unique<Pump>(port, backend)) {}

PortIo::~PortIo() = default;

std::string PortIo::backend() const {
  return std::string(pump_->queue_->backend());
}

void PortIo::associate(NativeSocket sock, std::uint64_t key) {
  pump_->submit([p = pump_.get(), sock, key] {
    p->queue_->attach(sock);
    p->keys_[sock] = key;
  });
}

void PortIo::read(NativeSocket sock, std::span<std::byte> buffer, std::uint64_t user) {
  pump_->submit(
      [p = pump_.get(), sock, buffer, user] { p->queue_->read(sock, buffer, p->remember(sock, user)); });
}

void PortIo::write(NativeSocket sock, std::span<const std::byte> buffer, std::uint64_t user) {
  pump_->submit(
      [p = pump_.get(), sock, buffer, user] { p->queue_->write(sock, buffer, p->remember(sock, user)); });
}

void PortIo::accept(NativeSocket listener, std::uint64_t user) {
  pump_->submit(
      [p = pump_.get(), listener, user] { p->queue_->accept(listener, p->remember(listener, user)); });
}

void PortIo::connect(NativeSocket sock, const completion::Endpoint& to, std::uint64_t user) {
  pump_->submit([p = pump_.get(), sock, to, user] {
    completion::UserData id = p->remember(sock, user);
    auto& kept = p->connecting_[id] = std::make_unique<completion::Endpoint>(to);
    p->queue_->connect(sock, *kept, id);
  });
}

// [snippet try-inline]
std::optional<std::uint32_t> PortIo::try_read(NativeSocket sock, std::span<std::byte> buffer) {
#ifdef _WIN32
  (void)sock, (void)buffer;
  return std::nullopt;
#else
  if (buffer.empty()) return std::nullopt;  // a zero-byte read means what the backend says it means
  ssize_t n;
  do {
    n = ::recv(sock, buffer.data(), buffer.size(), MSG_DONTWAIT);  // whatever the socket's own mode
  } while (n < 0 && errno == EINTR);
  if (n < 0) return std::nullopt;  // EAGAIN (nothing yet), or an error the issued read will report
  return static_cast<std::uint32_t>(n);
#endif
}

std::size_t PortIo::try_write(NativeSocket sock, std::span<const std::byte> buffer) {
#ifdef _WIN32
  (void)sock, (void)buffer;
  return 0;
#else
  std::size_t sent = 0;
  while (sent < buffer.size()) {
    // kSendFlags: a reset peer is an error, never a SIGPIPE (see common/net.hpp)
    ssize_t n = ::send(sock, buffer.data() + sent, buffer.size() - sent, MSG_DONTWAIT | evq::kSendFlags);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // full (EAGAIN) or failed: the issued write finishes it, or reports why
    sent += static_cast<std::size_t>(n);
  }
  return sent;
#endif
}
// [/snippet try-inline]

OwnedSocket PortIo::take_accepted(std::uint64_t user) {
  return pump_->take_accepted(user);
}

void PortIo::cancel(NativeSocket sock) {
  pump_->submit([p = pump_.get(), sock] {
    if (p->keys_.count(sock)) p->queue_->cancel(sock);
  });
}

void PortIo::close(OwnedSocket sock) {
  auto shared = std::make_shared<OwnedSocket>(std::move(sock));  // std::function needs copyable
  pump_->submit([p = pump_.get(), shared] {
    NativeSocket s = shared->get();
    if (p->keys_.erase(s)) p->queue_->detach(s);  // cancels what is pending; completions still come
    if (p->in_flight_.count(s)) p->closing_[s] = std::move(*shared);  // closed by its last completion
    // otherwise `shared` closes it right here, as the request is destroyed
  });
}

}  // namespace evq::port
