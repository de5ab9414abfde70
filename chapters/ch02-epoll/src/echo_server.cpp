#include "evq/epoll/echo_server.hpp"

#include <atomic>
#include <optional>

#include "echo_connection.hpp"
#include "narration_budget.hpp"
#include "evq/common/accept_pause.hpp"
#include "evq/common/net.hpp"
#include "evq/epoll/nonblocking.hpp"
#include "evq/epoll/poll.hpp"
#include "evq/epoll/wakeup.hpp"

namespace evq::epoll {
namespace {

// A counter written by the server thread only and read by others: a relaxed load and store is
// enough and costs nothing like a locked read-modify-write on the hot path.
struct Counter {
  std::atomic<std::uint64_t> value{0};
  void add(std::uint64_t n) {
    value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const { return value.load(std::memory_order_relaxed); }
};

constexpr std::uint32_t kLevelRead = EPOLLIN | EPOLLRDHUP;
constexpr std::uint32_t kLevelWrite = EPOLLOUT | EPOLLRDHUP;
constexpr std::uint32_t kEdge = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

}  // namespace

struct EchoServer::State {
  EchoServerOptions options;
  UniqueFd listener;
  Poll poll;
  Wakeup wakeup;
  detail::ConnectionTable table;
  std::atomic<bool> stopping{false};
  Counter accepted, closed, echoed, wakeups, write_waits, errors, accept_pauses;
  detail::NarrationBudget say;
  AcceptPause pause;  // accept4 found the machine full: the listener is not watched for now
  std::uint32_t listen_interest = 0;

  State(UniqueFd l, EchoServerOptions o)
      : options(o), listener(std::move(l)), table(o.buffer_size), say(o.narrator, o.narrate_limit) {}

  bool edge() const { return options.trigger == Trigger::edge; }

  void accept_all();
  void pause_accepting(std::error_code why);
  void resume_accepting();
  void serve(Token token, std::uint32_t flags);
  void run();
};

EchoServer::EchoServer(UniqueFd listener, EchoServerOptions options)
    : state_(std::make_unique<State>(std::move(listener), options)) {
  State& s = *state_;
  Narrator* n = s.options.narrator;
  set_nonblocking(s.listener.get());
  if (n) {
    n->step("epoll_create1(EPOLL_CLOEXEC) -> fd {}", s.poll.fd());
    n->step("eventfd(0, EFD_NONBLOCK) -> fd {}", s.wakeup.fd());
    n->aside("stop() writes to it from another thread, which ends epoll_wait");
  }
  s.listen_interest = s.edge() ? EPOLLIN | EPOLLET : EPOLLIN;
  s.poll.registry().add(s.listener.get(), detail::kListenerToken, s.listen_interest);
  s.poll.registry().add(s.wakeup.fd(), detail::kWakeToken, EPOLLIN);
  if (n) {
    n->step("epoll_ctl(ADD, listener fd {}, {})", s.listener.get(), describe(s.listen_interest));
    n->step("epoll_ctl(ADD, eventfd {}, EPOLLIN)", s.wakeup.fd());
  }
}

EchoServer::~EchoServer() = default;

std::uint16_t EchoServer::port() const {
  return local_port(state_->listener.get());
}

void EchoServer::stop() {
  state_->stopping.store(true);
  state_->wakeup.notify();
}

EchoStats EchoServer::stats() const {
  const State& s = *state_;
  return {s.accepted.get(),    s.closed.get(), s.echoed.get(),       s.wakeups.get(),
          s.write_waits.get(), s.errors.get(), s.accept_pauses.get()};
}

void EchoServer::run() {
  state_->run();
}

// [snippet echo-accept]
void EchoServer::State::accept_all() {
  // Both modes take every pending connection; edge-triggered mode must, or the rest wait for ever.
  for (;;) {
    AcceptResult a = try_accept(listener.get());
    if (a.status == AcceptResult::Status::skipped) continue;
    if (a.status == AcceptResult::Status::machine_full) return pause_accepting(a.error);
    if (pause.paused()) {  // a retry worked, or the waiting connections left: the episode is over
      std::uint64_t retries = pause.end();
      if (options.narrator) options.narrator->step("accepting again after {} retries", retries);
    }
    if (a.status == AcceptResult::Status::would_block) return;
    int fd = a.fd.get();
    Token token = table.insert(std::move(a.fd));
    std::uint32_t interest = edge() ? kEdge : kLevelRead;
    table.find(token)->interest = interest;
    poll.registry().add(fd, token, interest);
    accepted.add(1);
    if (say.wants(say.accept))
      say.tell(say.accept, "accept4 -> fd {}; epoll_ctl(ADD, fd {}, {})", fd, fd, describe(interest));
  }
}
// [/snippet echo-accept]

// [snippet echo-pause]
// The connection accept4 could not take is still queued, so the listener stays readable: watching
// it now would wake us at once, for ever. Watch nothing on it (events 0) until the retry is due.
void EchoServer::State::pause_accepting(std::error_code why) {
  if (pause.begin(why)) {
    accept_pauses.add(1);
    if (options.narrator)
      options.narrator->step(
          "accept4: {}: epoll_ctl(MOD, listener, 0) and retry every {} ms; the {} open "
          "connection(s) are served meanwhile",
          why.message(), AcceptPause::kRetry.count(), table.size());
  }
  poll.registry().modify(listener.get(), detail::kListenerToken, 0);
}

void EchoServer::State::resume_accepting() {
  poll.registry().modify(listener.get(), detail::kListenerToken, listen_interest);
  accept_all();  // edge-triggered: the MOD re-arms the edge, but asking now is simpler than waiting
}
// [/snippet echo-pause]

// [snippet echo-serve]
void EchoServer::State::serve(Token token, std::uint32_t flags) {
  detail::EchoConnection* c = table.find(token);
  if (!c) return;  // closed earlier in this same batch of events
  std::uint64_t bytes = 0;
  auto policy = edge() ? detail::ReadPolicy::drain : detail::ReadPolicy::once;
  detail::Next next = detail::pump(*c, table.buffer_size(), policy, bytes);
  echoed.add(bytes);
  int fd = c->fd.get();
  if (say.wants(say.io)) say.tell(say.io, "fd {}: {} -> echoed {} bytes", fd, describe(flags), bytes);
  if (next == detail::Next::close || next == detail::Next::fail) {
    say.tell(say.close, "fd {}: {} -> close(fd {})", fd,
             next == detail::Next::fail ? "error" : "end of stream", fd);
    table.erase(token);  // close() also takes it out of the epoll set
    closed.add(1);
    if (next == detail::Next::fail) errors.add(1);
    return;
  }
  if (next == detail::Next::write) write_waits.add(1);
  if (edge()) return;  // registered once for both directions: nothing to change
  // Level-triggered: watch only for what we wait for, or a writable socket would wake us for ever.
  std::uint32_t wanted = next == detail::Next::write ? kLevelWrite : kLevelRead;
  if (wanted != c->interest) {
    poll.registry().modify(fd, token, wanted);
    c->interest = wanted;
    if (say.wants(say.interest))
      say.tell(say.interest, "epoll_ctl(MOD, fd {}, {}): {}", fd, describe(wanted),
               next == detail::Next::write ? "its send buffer is full, wait until it drains"
                                           : "echo sent, back to waiting for input");
  }
}
// [/snippet echo-serve]

// [snippet echo-loop]
void EchoServer::State::run() {
  Events events(options.max_events);
  while (!stopping.load(std::memory_order_relaxed)) {
    std::size_t n = poll.wait(events, pause.time_left());  // no limit, unless accepting is paused
    wakeups.add(1);
    if (pause.take_retry()) resume_accepting();
    for (std::size_t i = 0; i < n; ++i) {
      Event e = events[i];
      if (e.token == detail::kListenerToken)
        accept_all();
      else if (e.token == detail::kWakeToken)
        wakeup.drain();  // the loop condition sees `stopping`
      else
        serve(e.token, e.flags);
    }
  }
  if (options.narrator)
    options.narrator->step("stop: leaving the loop with {} connection(s) still open", table.size());
}
// [/snippet echo-loop]

}  // namespace evq::epoll
