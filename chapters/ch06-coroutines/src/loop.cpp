#include "evq/coro/loop.hpp"

#include <array>
#include <cstdio>
#include <stdexcept>

namespace evq::coro {

// [snippet detached]
// The coroutine that owns a spawned task: it starts at once, awaits the task, hands any escaping
// exception to the Loop, and destroys its own frame at the end (final_suspend never suspends).
struct Detached {
  struct promise_type {
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }  // own() catches everything
  };
};

namespace {
// Tells a coroutine its own handle (it suspends for no time: await_suspend returns false).
struct OwnHandle {
  std::coroutine_handle<> handle;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> self) noexcept {
    handle = self;
    return false;
  }
  std::coroutine_handle<> await_resume() const noexcept { return handle; }
};

Detached own(Loop& loop, Task<void> task, void (*started)(Loop&, std::coroutine_handle<>),
             void (*finished)(Loop&, std::coroutine_handle<>, std::exception_ptr)) {
  std::coroutine_handle<> self = co_await OwnHandle{};
  started(loop, self);
  std::exception_ptr error;
  try {
    co_await std::move(task);
  } catch (...) {
    error = std::current_exception();
  }
  finished(loop, self, error);
}
}  // namespace
// [/snippet detached]

void Loop::started(Loop& loop, std::coroutine_handle<> frame) {
  ++loop.live_;
  loop.frames_.insert(frame.address());
}

void Loop::finished(Loop& loop, std::coroutine_handle<> frame, std::exception_ptr error) {
  --loop.live_;
  loop.frames_.erase(frame.address());
  if (error && !loop.first_error_) loop.first_error_ = error;
}

void Loop::spawn(Task<void> task) {
  own(*this, std::move(task), &Loop::started, &Loop::finished);
}

// [snippet loop-destroy]
Loop::~Loop() {
  if (frames_.empty()) return;
  if (in_flight_ > 0) {
    // A suspended frame holds buffers lent to the queue: freeing it would let the kernel write
    // into freed memory. Keep them (a leak) and say so; stop the tasks with cancel() and run() first.
    std::fprintf(stderr, "coro::Loop: destroyed with %zu operation(s) in flight; %zu task frame(s) kept\n",
                 in_flight_, frames_.size());
    return;
  }
  // Nothing is lent: destroying the owning frames destroys the tasks they await, and their locals.
  for (void* frame : std::set<void*>(frames_)) std::coroutine_handle<>::from_address(frame).destroy();
}
// [/snippet loop-destroy]

void Loop::run() {
  while (live_ > 0) run_once();
  if (first_error_) std::rethrow_exception(std::exchange(first_error_, nullptr));
}

std::uint64_t Loop::add_timer(Clock::time_point due, std::coroutine_handle<> resume,
                              NativeSocket cancel_sock) {
  const std::uint64_t id = next_timer_++;
  timers_.push(Timer{due, id, resume, cancel_sock});
  return id;
}

// [snippet run-once]
void Loop::run_once() {
  while (!timers_.empty() && disarmed_.contains(timers_.top().id)) {  // read_for timers not needed
    disarmed_.erase(timers_.top().id);
    timers_.pop();
  }
  if (!ready_.empty()) {  // resume_soon(): those first, in the order they were asked for
    std::deque<std::coroutine_handle<>> now;
    now.swap(ready_);  // what they ask for in turn waits for the next turn: I/O is not starved
    for (std::coroutine_handle<> h : now) h.resume();
    if (live_ == 0) return;
  }
  if (ready_.empty() && in_flight_ == 0 && timers_.empty() && !stop_fn_)
    throw std::logic_error("coro::Loop: tasks are suspended, but no operation or timer can ever resume them");
  std::optional<std::chrono::milliseconds> timeout;  // none: only completions can wake us
  if (!ready_.empty())
    timeout = std::chrono::milliseconds(0);  // someone is ready: only look
  else if (!timers_.empty())
    timeout = std::max(std::chrono::milliseconds(0),
                       std::chrono::ceil<std::chrono::milliseconds>(timers_.top().due - Clock::now()));
  std::array<completion::Completion, 64> done;
  const std::size_t n = queue_.wait(done, timeout);
  for (std::size_t i = 0; i < n; ++i) {
    if (done[i].op == completion::Op::post) {  // request_stop(): the only post a Loop makes
      if (!stop_requested_) {
        stop_requested_ = true;
        if (stop_fn_) stop_fn_(stop_context_);
      }
      continue;
    }
    IoOp* op = reinterpret_cast<IoOp*>(done[i].user_data);  // the awaiter in the suspended frame
    --in_flight_;
    op->result = std::move(done[i]);
    if (op->timer && cancel_timers_.erase(op->timer)) disarmed_.insert(op->timer);  // beat its deadline
    op->waiter.resume();  // runs the coroutine until its next co_await (or its end)
  }
  for (auto now = Clock::now(); !timers_.empty() && timers_.top().due <= now; now = Clock::now()) {
    Timer t = timers_.top();
    timers_.pop();
    if (disarmed_.erase(t.id)) continue;
    cancel_timers_.erase(t.id);
    if (t.resume)
      t.resume.resume();
    else
      queue_.cancel(t.cancel_sock);  // read_for's deadline: the read completes aborted, soon
  }
}
// [/snippet run-once]

void Loop::request_stop() {
  queue_.post(0);
}

Loop::OpAwaiter Loop::read(NativeSocket sock, std::span<std::byte> buffer) {
  return OpAwaiter{OpAwaiter::kRead, *this, sock, buffer};
}
Loop::OpAwaiter Loop::read_for(NativeSocket sock, std::span<std::byte> buffer,
                               std::chrono::milliseconds limit) {
  OpAwaiter a{OpAwaiter::kRead, *this, sock, buffer};
  a.limit = limit;
  return a;
}
Loop::OpAwaiter Loop::write(NativeSocket sock, std::span<const std::byte> buffer) {
  OpAwaiter a{OpAwaiter::kWrite, *this, sock};
  a.out = buffer;
  return a;
}
Loop::OpAwaiter Loop::accept(NativeSocket listener) {
  return OpAwaiter{OpAwaiter::kAccept, *this, listener};
}
Loop::OpAwaiter Loop::connect(NativeSocket sock, const completion::Endpoint& to) {
  OpAwaiter a{OpAwaiter::kConnect, *this, sock};
  a.to = &to;
  return a;
}
Loop::YieldAwaiter Loop::yield() {
  return YieldAwaiter{*this};
}

Loop::SleepAwaiter Loop::sleep_for(std::chrono::milliseconds d) {
  return SleepAwaiter{*this, Clock::now() + d};
}

// [snippet op-suspend]
void Loop::OpAwaiter::await_suspend(std::coroutine_handle<> waiter) {
  op.waiter = waiter;
  // This awaiter lives in the suspended frame until the completion comes back: its address is
  // the user data, and the buffer it names is lent until then.
  const auto user_data = reinterpret_cast<completion::UserData>(&op);
  switch (kind) {
    case kRead:
      loop.queue_.read(sock, buffer, user_data);
      break;
    case kWrite:
      loop.queue_.write(sock, out, user_data);
      break;
    case kAccept:
      loop.queue_.accept(sock, user_data);
      break;
    case kConnect:
      loop.queue_.connect(sock, *to, user_data);
      break;
  }
  ++loop.in_flight_;
  if (limit) {
    op.timer = loop.add_timer(Clock::now() + *limit, {}, sock);
    loop.cancel_timers_.insert(op.timer);
  }
}
// [/snippet op-suspend]

IoResult Loop::OpAwaiter::await_resume() {
  return IoResult{op.result.bytes, op.result.error};
}

}  // namespace evq::coro
