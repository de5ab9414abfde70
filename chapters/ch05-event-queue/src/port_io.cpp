#include "evq/port/port_io.hpp"

#include <atomic>
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
#include "evq/port/blocking_scope.hpp"

namespace evq::port {

using completion::Completion;
using completion::CompletionQueue;
using completion::Op;

namespace {
constexpr completion::UserData kWake = ~completion::UserData{0};  // "look at your requests"
}

class PortIo::Pump {
 public:
  Pump(Port& port, const std::string& backend, Driver driver)
      : port_(port),
        queue_(completion::open_queue(backend.empty() ? completion::default_backend() : backend)),
        driver_(driver) {
    if (driver_ == Driver::callers && !callers_can_drive(std::string(queue_->backend())))
      throw std::invalid_argument("PortIo: Driver::callers cannot drive " + std::string(queue_->backend()) +
                                  ": its ring takes submissions from one thread only; use Driver::pump");
    if (driver_ == Driver::pump) thread_ = std::thread([this] { run(); });
  }

  ~Pump() {
    if (driver_ == Driver::pump) {
      submit([this] { stopping_ = true; });
      thread_.join();
    } else {
      while (!take_requests()) {  // nobody polls any more: what was submitted last runs here
      }
      shut_down();
    }
  }

  // Wakes a pump, or a turn of poll(), that is waiting or about to: see submit().
  void wake() {
    bool wake;
    {
      std::lock_guard lock(mutex_);
      wake = asleep_;
      asleep_ = false;
    }
    if (wake) queue_->post(kWake);
  }

  // Runs `request` on the pump thread (the only thread that may touch the ch04 queue).
  // The wake-up (a post into the ch04 queue: a syscall, and a context switch if the pump sleeps)
  // is sent only to a pump that is asleep, or about to be, and only once: a pump that is busy
  // delivering completions takes the request on its next turn anyway.
  // `quiet_since`: wake nobody if no wait has returned since that count (read_found_empty).
  void submit(std::function<void()> request, std::optional<std::uint64_t> quiet_since = std::nullopt) {
    bool wake;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(std::move(request));
      const bool quiet = quiet_since && *quiet_since == waits_returned_.load();
      wake = asleep_ && !quiet;
      if (wake) asleep_ = false;
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
  const Driver driver_;
  // Readiness underneath (epoll, kqueue): the queue reports new data on a socket whether or not a
  // read is pending on it, and keeps it for the read issued later.
  const bool edges_ = queue_->backend() == "epoll" || queue_->backend() == "kqueue";
  // Driver::callers: true while a thread is taking its turn at the queue. Setting it (acquire) and
  // clearing it (release) orders one turn after the other, so "pump thread only" below means "the
  // thread whose turn it is" there.
  std::atomic<bool> polling_{false};
  std::atomic<bool> stopped_{false};  // stop_polling() was called
  std::vector<Completion> batch_ = std::vector<Completion>(64);
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

  bool take_requests();
  // After the wait: awake and delivering, so what is submitted meanwhile waits for the next turn
  // without a wake-up.
  // Counted under the same lock as asleep_, so that a quiet submit sees either this wait's
  // return or, if not, is taken by the next turn's take_requests() (see read_found_empty).
  void wake_seen() {
    std::lock_guard lock(mutex_);
    asleep_ = false;
    waits_returned_.store(waits_returned_.load(std::memory_order_relaxed) + 1);
  }
  std::atomic<std::uint64_t> waits_returned_{0};  // written under mutex_, read anywhere
  std::optional<Packet> to_packet(Completion& c);
  void deliver(Completion& c);  // posts the packet
  void shut_down();

 private:
  void run();

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
std::optional<Packet> PortIo::Pump::to_packet(Completion& c) {
  if (c.op == Op::post) return std::nullopt;  // our own wake-ups
  auto it = ops_.find(c.user_data);
  if (it == ops_.end()) return std::nullopt;
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
  return packet;  // the I/O completion becomes a packet like any other
}
// [/snippet pump-deliver]

void PortIo::Pump::deliver(Completion& c) {
  if (std::optional<Packet> packet = to_packet(c)) port_.post(*packet);
}

void PortIo::Pump::run() {
  for (;;) {
    // Requests first, and until there are none: each may have been submitted without a wake-up.
    while (!take_requests()) {
    }
    if (stopping_) break;
    std::size_t n = queue_->wait(batch_, std::nullopt);
    wake_seen();
    for (std::size_t i = 0; i < n; ++i) deliver(batch_[i]);
  }
  shut_down();
}

// Shutting down: cancel everything, then collect the completions (bounded: a backend that lost one
// must not hang the program).
void PortIo::Pump::shut_down() {
  for (auto& [sock, key] : keys_) queue_->cancel(sock);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (queue_->pending() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::size_t n = queue_->wait(batch_, std::chrono::milliseconds(50));
    for (std::size_t i = 0; i < n; ++i) deliver(batch_[i]);
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

PortIo::PortIo(Port& port, const std::string& backend, Driver driver)
    : pump_(std::make_unique<Pump>(port, backend, driver)) {}

PortIo::~PortIo() = default;

std::string PortIo::backend() const {
  return std::string(pump_->queue_->backend());
}

Driver PortIo::driver() const {
  return pump_->driver_;
}

bool PortIo::callers_can_drive(const std::string& backend) {
  const std::string name = backend.empty() ? completion::default_backend() : backend;
  return name != "io_uring" && name != "uring";  // SINGLE_ISSUER: chapter 4's ring has one submitter
}

// [snippet port-io-poll]
bool PortIo::poll(std::optional<Packet>& mine) {
  Pump& p = *pump_;
  if (p.driver_ != Driver::callers) throw std::logic_error("PortIo::poll: this PortIo has a pump of its own");
  if (p.polling_.exchange(true, std::memory_order_acquire)) return false;  // another thread's turn
  struct EndTurn {
    std::atomic<bool>& polling;
    ~EndTurn() { polling.store(false, std::memory_order_release); }
  } end_turn{p.polling_};
  if (p.stopped_.load()) return true;
  while (!p.take_requests()) {  // as the pump does: until none is left, then marked asleep
  }
  std::size_t n;
  if (p.port_.counters().queued > 0) {
    // The port holds packets already, which this thread takes next: only look, and as a running
    // thread. A look is not a wait: a BlockingScope here would let the port hand those packets
    // to a waiter meanwhile (chapter 6's hops moved to another thread that way, under Wine).
    n = p.queue_->wait(p.batch_, Timeout(std::chrono::milliseconds(0)));
  } else {
    BlockingScope blocking;  // waiting here is not running: the port may release someone else
    // A packet queued since then, with nobody running, may be ours to take: then only look.
    // (Whoever posts after this line sees us not running, and wakes us: see wake().)
    const Port::Counters now = p.port_.counters();
    const bool look_only = now.queued > 0 && now.running == 0;
    n = p.queue_->wait(p.batch_, look_only ? Timeout(std::chrono::milliseconds(0)) : std::nullopt);
  }
  p.wake_seen();
  for (std::size_t i = 0; i < n; ++i) {
    std::optional<Packet> packet = p.to_packet(p.batch_[i]);
    if (!packet) continue;
    if (!mine)
      mine = packet;  // the first is ours: handled on this thread, it crosses to no other
    else
      p.port_.post(*packet);  // the rest: for whoever the port releases, or for our next get()
  }
  return true;
}
// [/snippet port-io-poll]

void PortIo::wake() {
  pump_->wake();
}

void PortIo::stop_polling() {
  pump_->stopped_.store(true);
  pump_->queue_->post(kWake);  // stays queued: a turn that starts later returns at once as well
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

// [snippet read-found-empty]
void PortIo::read_found_empty(NativeSocket sock, std::span<std::byte> buffer, std::uint64_t user,
                              const TriedRead& tried) {
  // On readiness, the data this read waits for raises an edge when it comes, and the edge wakes
  // whoever waits on the queue; their next turn issues this read, which finds the data. Waking
  // them now, only to park the read, would be one more context switch for nothing. But the data
  // may have come just after the try, and a wait that returned since may have taken its edge,
  // before this read was queued: that edge is spent, and the waiter must be woken after all.
  // A completion backend (iocp, io_uring) hears of data only through an issued read: that one is
  // woken as usual.
  std::optional<std::uint64_t> quiet_since;
  if (pump_->edges_) quiet_since = tried.waits_before;
  pump_->submit(
      [p = pump_.get(), sock, buffer, user] { p->queue_->read(sock, buffer, p->remember(sock, user)); },
      quiet_since);
}
// [/snippet read-found-empty]

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
namespace {
// The inline read itself; `found_empty`, if given, says whether it failed for want of data.
std::optional<std::uint32_t> recv_now(NativeSocket sock, std::span<std::byte> buffer, bool* found_empty) {
  if (found_empty) *found_empty = false;
#ifdef _WIN32
  (void)sock, (void)buffer;
  return std::nullopt;
#else
  if (buffer.empty()) return std::nullopt;  // a zero-byte read means what the backend says it means
  ssize_t n;
  do {
    n = ::recv(sock, buffer.data(), buffer.size(), MSG_DONTWAIT);  // whatever the socket's own mode
  } while (n < 0 && errno == EINTR);
  if (n < 0 && found_empty) *found_empty = errno == EAGAIN || errno == EWOULDBLOCK;
  if (n < 0) return std::nullopt;  // EAGAIN (nothing yet), or an error the issued read will report
  return static_cast<std::uint32_t>(n);
#endif
}
}  // namespace

std::optional<std::uint32_t> PortIo::try_read(NativeSocket sock, std::span<std::byte> buffer) {
  return recv_now(sock, buffer, nullptr);
}

std::optional<std::uint32_t> PortIo::try_read(NativeSocket sock, std::span<std::byte> buffer,
                                              TriedRead& tried) const {
  tried.waits_before = pump_->waits_returned_.load();  // before the recv: see read_found_empty
  return recv_now(sock, buffer, &tried.found_empty);
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
