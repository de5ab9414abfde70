#include "evq/epoll/oneshot_echo_server.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include "echo_connection.hpp"
#include "narration_budget.hpp"
#include "evq/common/accept_pause.hpp"
#include "evq/common/net.hpp"
#include "evq/epoll/nonblocking.hpp"
#include "evq/epoll/poll.hpp"
#include "evq/epoll/wakeup.hpp"

namespace evq::epoll {
namespace {
constexpr std::uint32_t kArmRead = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
constexpr std::uint32_t kArmWrite = EPOLLOUT | EPOLLRDHUP | EPOLLONESHOT;
constexpr std::uint32_t kArmListener = EPOLLIN | EPOLLONESHOT;
}  // namespace

struct OneshotEchoServer::State {
  OneshotEchoServerOptions options;
  UniqueFd listener;
  Poll poll;
  Wakeup wakeup;
  // Guards the table. It is also held around the epoll_ctl that hands a connection over (ADD after
  // accept, MOD to re-arm), and taken by find() in the next worker. EPOLLONESHOT alone already
  // orders the two workers, through the kernel; the mutex makes that order visible to tools such
  // as ThreadSanitizer, which cannot see inside epoll, and costs one uncontended lock per event.
  std::mutex table_mutex;
  detail::ConnectionTable table;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> accepted{0}, closed{0}, echoed{0}, wakeups{0}, write_waits{0}, errors{0},
      accept_pauses{0};
  // accept4 found the machine full: the listener stays disarmed (EPOLLONESHOT already disarmed it)
  // until a worker whose wait timed out for it re-arms it. Every worker reads it before waiting.
  // `paused` mirrors pause.paused(), so the hot path (every wake-up, every accept) skips the mutex.
  std::mutex pause_mutex;
  AcceptPause pause;
  std::atomic<bool> paused{false};
  std::vector<std::atomic<std::uint64_t>> per_thread;
  detail::NarrationBudget say;

  State(UniqueFd l, OneshotEchoServerOptions o)
      : options(o),
        listener(std::move(l)),
        table(o.buffer_size),
        per_thread(static_cast<std::size_t>(o.threads)),
        say(o.narrator, o.narrate_limit) {}

  void accept_all(int worker);
  std::optional<std::chrono::milliseconds> accept_timeout();
  void retry_accepting_if_due(int worker);
  void serve(int worker, Token token);
  void work(int worker);
};

OneshotEchoServer::OneshotEchoServer(UniqueFd listener, OneshotEchoServerOptions options)
    : state_(std::make_unique<State>(std::move(listener), options)) {
  State& s = *state_;
  set_nonblocking(s.listener.get());
  s.poll.registry().add(s.listener.get(), detail::kListenerToken, kArmListener);
  // The eventfd is level-triggered and never drained once stopping: every worker sees it.
  s.poll.registry().add(s.wakeup.fd(), detail::kWakeToken, EPOLLIN);
  if (Narrator* n = s.options.narrator) {
    n->step("epoll_create1(EPOLL_CLOEXEC) -> fd {} (one instance shared by {} threads)", s.poll.fd(),
            s.options.threads);
    n->step("epoll_ctl(ADD, listener fd {}, {})", s.listener.get(), describe(kArmListener));
    n->step("epoll_ctl(ADD, eventfd {}, EPOLLIN)", s.wakeup.fd());
  }
}

OneshotEchoServer::~OneshotEchoServer() = default;

std::uint16_t OneshotEchoServer::port() const {
  return local_port(state_->listener.get());
}

void OneshotEchoServer::stop() {
  state_->stopping.store(true);
  state_->wakeup.notify();
}

EchoStats OneshotEchoServer::stats() const {
  const State& s = *state_;
  return {s.accepted.load(),    s.closed.load(), s.echoed.load(),       s.wakeups.load(),
          s.write_waits.load(), s.errors.load(), s.accept_pauses.load()};
}

std::vector<std::uint64_t> OneshotEchoServer::events_per_thread() const {
  std::vector<std::uint64_t> out;
  for (const auto& n : state_->per_thread) out.push_back(n.load());
  return out;
}

void OneshotEchoServer::run() {
  std::vector<std::jthread> workers;
  for (int i = 0; i < state_->options.threads; ++i) workers.emplace_back([this, i] { state_->work(i); });
}  // the jthreads join here, once every worker has seen the eventfd

void OneshotEchoServer::State::accept_all(int worker) {
  for (;;) {
    AcceptResult a = try_accept(listener.get());
    if (a.status == AcceptResult::Status::skipped) continue;
    if (a.status == AcceptResult::Status::machine_full) {
      std::lock_guard lock(pause_mutex);
      paused = true;
      if (pause.begin(a.error)) {
        accept_pauses.fetch_add(1, std::memory_order_relaxed);
        say.tell(say.accept, "[worker {}] accept4: {}: the listener stays disarmed; retry in {} ms", worker,
                 a.error.message(), AcceptPause::kRetry.count());
      }
      return;  // not re-armed: nobody is woken for it until the retry
    }
    if (paused.load(std::memory_order_relaxed)) {  // accepting works again
      std::lock_guard lock(pause_mutex);
      pause.end();
      paused = false;
    }
    if (a.status == AcceptResult::Status::would_block) break;
    int fd = a.fd.get();
    accepted.fetch_add(1, std::memory_order_relaxed);
    if (say.wants(say.accept))
      say.tell(say.accept, "[worker {}] accept4 -> fd {}; epoll_ctl(ADD, fd {}, {})", worker, fd, fd,
               describe(kArmRead));
    std::lock_guard lock(table_mutex);
    Token token = table.insert(std::move(a.fd));
    // After this call another worker may already be serving the connection: do not touch it.
    poll.registry().add(fd, token, kArmRead);
  }
  // The listener fired once and disarmed itself; arm it again for the next connection.
  poll.registry().modify(listener.get(), detail::kListenerToken, kArmListener);
}

// [snippet oneshot-serve]
void OneshotEchoServer::State::serve(int worker, Token token) {
  detail::EchoConnection* c;
  {
    std::lock_guard lock(table_mutex);
    c = table.find(token);
  }
  if (!c) return;
  // EPOLLONESHOT disarmed the socket when this event was reported: until we re-arm it, no other
  // worker can be handed an event for it, so we use it without a lock.
  std::uint64_t bytes = 0;
  detail::Next next = detail::pump(*c, table.buffer_size(), detail::ReadPolicy::drain, bytes);
  echoed.fetch_add(bytes, std::memory_order_relaxed);
  if (next == detail::Next::close || next == detail::Next::fail) {
    say.tell(say.close, "[worker {}] fd {}: {} -> close(fd {})", worker, c->fd.get(),
             next == detail::Next::fail ? "error" : "end of stream", c->fd.get());
    std::lock_guard lock(table_mutex);
    table.erase(token);
    closed.fetch_add(1, std::memory_order_relaxed);
    if (next == detail::Next::fail) errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  int fd = c->fd.get();
  if (next == detail::Next::write) write_waits.fetch_add(1, std::memory_order_relaxed);
  std::uint32_t interest = next == detail::Next::write ? kArmWrite : kArmRead;
  if (say.wants(say.interest))
    say.tell(say.interest, "[worker {}] fd {}: echoed {} bytes; epoll_ctl(MOD, fd {}, {}) re-arms it", worker,
             fd, bytes, fd, describe(interest));
  // The re-arm is the hand-over: from here on the connection may be another worker's.
  std::lock_guard lock(table_mutex);  // see the comment on table_mutex
  poll.registry().modify(fd, token, interest);
}
// [/snippet oneshot-serve]

void OneshotEchoServer::State::work(int worker) {
  Events events(options.max_events);
  auto& served = per_thread[static_cast<std::size_t>(worker)];
  while (!stopping.load()) {
    std::size_t n = poll.wait(events, accept_timeout());
    wakeups.fetch_add(1, std::memory_order_relaxed);
    retry_accepting_if_due(worker);
    for (std::size_t i = 0; i < n; ++i) {
      Event e = events[i];
      if (e.token == detail::kWakeToken) continue;  // stopping: the loop condition ends us
      served.fetch_add(1, std::memory_order_relaxed);
      if (e.token == detail::kListenerToken)
        accept_all(worker);
      else
        serve(worker, e.token);
    }
  }
}

// No limit on the wait, unless accepting is paused: then the retry is due in at most 100 ms.
std::optional<std::chrono::milliseconds> OneshotEchoServer::State::accept_timeout() {
  if (!paused.load(std::memory_order_relaxed)) return std::nullopt;
  std::lock_guard lock(pause_mutex);
  return pause.time_left();
}

void OneshotEchoServer::State::retry_accepting_if_due(int worker) {
  if (!paused.load(std::memory_order_relaxed)) return;
  {
    std::lock_guard lock(pause_mutex);
    if (!pause.take_retry()) return;  // one worker takes the retry; the others carry on
  }
  say.tell(say.interest, "[worker {}] epoll_ctl(MOD, listener, {}): try accepting again", worker,
           describe(kArmListener));
  poll.registry().modify(listener.get(), detail::kListenerToken, kArmListener);
}

}  // namespace evq::epoll
