#include "evq/kq/echo_server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string>
#include <unordered_map>
#include <vector>

#include "evq/common/error.hpp"
#include "evq/common/net.hpp"
#include "evq/kq/describe.hpp"

namespace evq::kq {
namespace {

constexpr uintptr_t kStopIdent = 1;  // the EVFILT_USER event stop() triggers

struct Connection {
  UniqueFd fd;
  std::string out;  // received, not yet echoed back: kMaxPending at most
  bool write_enabled = false;
  bool read_enabled = true;  // false while `out` is full: the peer must read before we read more
  bool closing = false;      // the peer finished sending: close once `out` is flushed
  bool closed = false;
};

}  // namespace

struct EchoServer::State {
  Narrator* narrator;
  int narrate_batches;
  Kqueue kq;
  UniqueFd listener;
  std::unordered_map<int, std::unique_ptr<Connection>> connections;
  // A connection closed while handling a batch stays alive until the batch is done: a later event of
  // the same batch may still carry its address in udata.
  std::vector<std::unique_ptr<Connection>> closed_this_batch;
  std::vector<struct kevent> changes;  // applied by the next kevent(), together with the wait
  EchoStats stats;
  AcceptPause pause;  // accept() found the machine full: the listener's filter is disabled for now

  bool narrating() const { return narrator && static_cast<int>(stats.kevent_calls) <= narrate_batches; }

  void accept_all();
  void pause_accepting(std::error_code why);
  void set_reading(Connection* c, bool on);
  void on_readable(Connection* c, const struct kevent& ev);
  void on_writable(Connection* c);
  bool flush(Connection* c);
  void close(Connection* c, bool reset);
};

EchoServer::EchoServer(Narrator* narrator, int narrate_batches, Family family)
    : state_(std::make_unique<State>(State{narrator,
                                           narrate_batches,
                                           Kqueue(),
                                           listen_loopback(family, 128, /*nonblocking=*/true),
                                           {},
                                           {},
                                           {},
                                           {},
                                           {}})) {
  State& s = *state_;
  if (narrator) {
    narrator->step("kqueue() -> fd {}{}", s.kq.fd(),
                   kEmulated ? "  [Linux: the project's kqueue emulation]" : "");
    narrator->step("socket + bind({}:0) + listen -> fd {}, port {}",
                   family == Family::v6 ? "[::1]" : "127.0.0.1", s.listener.get(),
                   local_port(s.listener.get()));
  }
  const struct kevent setup[] = {
      change(static_cast<uintptr_t>(s.listener.get()), EVFILT_READ, EV_ADD),
      change(kStopIdent, EVFILT_USER, EV_ADD | EV_CLEAR),
  };
  s.kq.apply(setup);
  if (narrator) {
    narrator->step("kevent(changelist: [{}, {}], no eventlist)", describe(setup[0]), describe(setup[1]));
    narrator->aside("the listener's EVFILT_READ fires when connections wait; data = how many");
  }
}

EchoServer::~EchoServer() = default;

std::uint16_t EchoServer::port() const {
  return local_port(state_->listener.get());
}
const EchoStats& EchoServer::stats() const {
  return state_->stats;
}
std::size_t EchoServer::open_connections() const {
  return state_->connections.size();
}

void EchoServer::stop() {
  const struct kevent trigger = change(kStopIdent, EVFILT_USER, 0, NOTE_TRIGGER);
  state_->kq.kevent(std::span(&trigger, 1), {}, std::chrono::nanoseconds(0));
}

// [snippet echo-loop]
void EchoServer::run(std::optional<std::chrono::steady_clock::time_point> until) {
  State& s = *state_;
  std::array<struct kevent, 64> events{};
  for (bool stopping = false; !stopping;) {
    std::optional<std::chrono::nanoseconds> timeout;
    if (until) timeout = std::max(std::chrono::nanoseconds(0), *until - std::chrono::steady_clock::now());
    if (auto retry = s.pause.time_left(); retry && (!timeout || *retry < *timeout)) timeout = *retry;
    // One call: apply every change made while handling the last batch, then wait for the next.
    const std::size_t batched = s.changes.size();
    const std::size_t n = s.kq.kevent(s.changes, events, timeout);
    s.changes.clear();
    ++s.stats.kevent_calls;
    s.stats.changes_batched += batched;
    if (s.narrating())
      s.narrator->step("kevent(kq, {} changes, {} slots) -> {} events", batched, events.size(), n);
    for (std::size_t i = 0; i < n; ++i) {
      const struct kevent& ev = events[i];
      if (s.narrating()) s.narrator->aside("{}", describe(ev));
      if (ev.flags & EV_ERROR) {  // the answer to a change that failed: kqueue reports, not throws
        ++s.stats.change_errors;
        continue;
      }
      if (ev.filter == EVFILT_USER) {
        stopping = true;
      } else if (ev.ident == static_cast<uintptr_t>(s.listener.get())) {
        if (s.narrating()) s.narrator->aside("{} connection(s) waiting on the listener", ev.data);
        s.accept_all();
      } else if (auto* c = static_cast<Connection*>(ev.udata); !c->closed) {
        if (ev.filter == EVFILT_READ)
          s.on_readable(c, ev);
        else
          s.on_writable(c);
      }
    }
    s.closed_this_batch.clear();
    if (s.pause.take_retry()) {  // the machine was full: enable the listener again and try now
      s.changes.push_back(change(static_cast<uintptr_t>(s.listener.get()), EVFILT_READ, EV_ENABLE));
      s.accept_all();
    }
    if (n == 0 && until && std::chrono::steady_clock::now() >= *until) break;
  }
}
// [/snippet echo-loop]

// [snippet echo-accept]
void EchoServer::State::accept_all() {
  for (;;) {
    AcceptOutcome a = accept_once(listener.get(), /*nonblocking=*/true);
    if (!a.fd && a.kind == AcceptError::connection_lost) continue;
    if (!a.fd && a.kind == AcceptError::machine_full) return pause_accepting(a.error);
    if (pause.paused()) {  // accepting works again (or the waiting connections left)
      std::uint64_t retries = pause.end();
      if (narrator) narrator->step("accepting again after {} retries", retries);
    }
    if (!a.fd) return;  // would block: the queue is empty
    UniqueFd fd = std::move(a.fd);
    set_nodelay(fd.get());  // (accept_once set SO_NOSIGPIPE where send() has no MSG_NOSIGNAL)
    auto c = std::make_unique<Connection>();
    c->fd = std::move(fd);
    const auto ident = static_cast<uintptr_t>(c->fd.get());
    // Watch reads now; register writes too, but disabled until there is something to send.
    changes.push_back(change(ident, EVFILT_READ, EV_ADD, 0, 0, c.get()));
    changes.push_back(change(ident, EVFILT_WRITE, EV_ADD | EV_DISABLE, 0, 0, c.get()));
    connections.emplace(c->fd.get(), std::move(c));
    ++stats.accepted;
  }
}
// [/snippet echo-accept]

// [snippet echo-pause]
// The connection accept() could not take still waits in the queue, so the listener stays readable:
// left enabled, its EVFILT_READ would end every kevent() at once. Disable it; run() enables it
// again when the retry is due (the wait's timeout is cut to that moment).
void EchoServer::State::pause_accepting(std::error_code why) {
  if (pause.begin(why)) {
    ++stats.accept_pauses;
    if (narrator)
      narrator->step(
          "accept: {}: EV_DISABLE on the listener, retry every {} ms; {} open connection(s) "
          "are served meanwhile",
          why.message(), AcceptPause::kRetry.count(), connections.size());
  }
  changes.push_back(change(static_cast<uintptr_t>(listener.get()), EVFILT_READ, EV_DISABLE));
}
// [/snippet echo-pause]

void EchoServer::State::on_readable(Connection* c, const struct kevent& ev) {
  std::array<char, 16 * 1024> buffer;
  bool end_of_stream = false;
  // Read only what may still wait for the peer: never more than kMaxPending in `out`.
  while (c->out.size() < kMaxPending) {
    const std::size_t room = std::min(buffer.size(), kMaxPending - c->out.size());
    ssize_t n = ::read(c->fd.get(), buffer.data(), room);
    if (n > 0) {
      c->out.append(buffer.data(), static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) {
      end_of_stream = true;
      break;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (errno == EINTR) continue;
    close(c, /*reset=*/true);  // ECONNRESET and friends: this connection is over, the server is not
    return;
  }
  if ((ev.flags & EV_EOF) && ev.fflags != 0) {  // kqueue told us the socket error with the EOF
    close(c, /*reset=*/true);
    return;
  }
  if (!flush(c)) return;
  if (end_of_stream) {
    c->closing = true;
    if (c->out.empty()) close(c, /*reset=*/false);
  }
}

void EchoServer::State::on_writable(Connection* c) {
  if (!flush(c)) return;
  if (c->closing && c->out.empty()) close(c, /*reset=*/false);
}

// Writes what it can; enables or disables the write filter to match what is left. False if closed.
bool EchoServer::State::flush(Connection* c) {
  while (!c->out.empty()) {
    // A peer that has gone must be an error from send(), not a SIGPIPE that kills the server.
    ssize_t n = ::send(c->fd.get(), c->out.data(), c->out.size(), evq::kSendFlags);
    if (n > 0) {
      stats.bytes_echoed += static_cast<std::size_t>(n);
      c->out.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    close(c, /*reset=*/true);  // EPIPE, ECONNRESET: the peer is gone
    return false;
  }
  // [snippet echo-write-toggle]
  // Watch writability only while something waits to be sent; otherwise an idle, writable socket
  // would be reported on every call. The change rides along with the next kevent().
  const bool want_write = !c->out.empty();
  if (want_write != c->write_enabled) {
    c->write_enabled = want_write;
    changes.push_back(change(static_cast<uintptr_t>(c->fd.get()), EVFILT_WRITE,
                             want_write ? EV_ENABLE : EV_DISABLE, 0, 0, c));
  }
  // Backpressure: a full `out` means the peer is not reading its echoes. Stop reading from it (its
  // bytes wait in the kernel, and its sends block) until it has read half of them.
  if (c->out.size() >= kMaxPending)
    set_reading(c, false);
  else if (c->out.size() <= kMaxPending / 2)
    set_reading(c, true);
  // [/snippet echo-write-toggle]
  return true;
}

void EchoServer::State::set_reading(Connection* c, bool on) {
  if (c->read_enabled == on) return;
  c->read_enabled = on;
  if (!on) ++stats.read_pauses;
  changes.push_back(
      change(static_cast<uintptr_t>(c->fd.get()), EVFILT_READ, on ? EV_ENABLE : EV_DISABLE, 0, 0, c));
}

// [snippet echo-close]
void EchoServer::State::close(Connection* c, bool reset) {
  const auto ident = static_cast<uintptr_t>(c->fd.get());
  // Changes still queued for this descriptor would fail (EBADF) once it is closed: drop them.
  // Closing the descriptor deletes its knotes, so no EV_DELETE is needed.
  std::erase_if(changes,
                [&](const struct kevent& ch) { return ch.ident == ident && ch.filter != EVFILT_USER; });
  c->closed = true;
  ++stats.closed;
  if (reset) ++stats.resets;
  auto it = connections.find(c->fd.get());
  c->fd.reset();
  closed_this_batch.push_back(std::move(it->second));
  connections.erase(it);
}
// [/snippet echo-close]

}  // namespace evq::kq
