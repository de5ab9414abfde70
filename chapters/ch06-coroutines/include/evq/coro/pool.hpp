// Pool: coroutines resumed by chapter 5's thread pool. Where the Loop (loop.hpp) runs every
// coroutine on the one thread that waits on a ch04 queue, a Pool lets the port decide: every
// completion is a packet, and whichever pool thread the port releases (LIFO, under its concurrency
// cap) resumes the coroutine that waited for it.
//
//   evq::coro::Pool pool;                        // a port (concurrency = CPUs), 2 x CPUs threads
//   pool.spawn(serve(pool, listener), on_error); // co_spawn: starts on a pool thread
//   pool.join();                                 // waits until every spawned task has finished
//
// How a completion finds its coroutine (the same idea as the Loop, through one more layer):
//
//   co_await pool.read(s, buf) ─▶ PortIo::read(s, buf, user = &op) ─▶ the pump thread ─▶ ch04 queue
//                                                                                          │
//   op.waiter.resume()  ◀── a pool thread: port.get() ◀── port.post(Packet{kIo, bytes, &op}) ◀┘
//
// The awaiter `op` lives in the suspended frame, so its address is the packet's `user` field (the
// OVERLAPPED's role), and the buffer it lends lives in the same frame until that packet.
//
// THREADS: everything here may be called from any thread. A coroutine may be resumed on a
// different pool thread after each co_await: what it shares with other coroutines needs a lock or
// an atomic, as in any pool. What only it touches (its locals, its buffer) needs nothing: one
// coroutine never runs on two threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "evq/completion/completion.hpp"
#include "evq/completion/socket.hpp"
#include "evq/coro/io_result.hpp"
#include "evq/coro/task.hpp"
#include "evq/port/port.hpp"
#include "evq/port/port_io.hpp"
#include "evq/port/thread_pool.hpp"

namespace evq::coro {

using completion::NativeSocket;
using completion::OwnedSocket;

class Pool;

// A group of operations that one call cancels: every operation issued in the scope
// (co_await pool.read(s, buf).in(scope)) that is pending when cancel() runs completes aborted, and
// every one issued after it completes aborted at once, without being issued. A server's stop() is
// one call on its scope, and it cannot miss a read that a coroutine was just about to issue: the
// check of the flag and the issuing happen under the scope's lock (Pool::OpAwaiter::await_suspend).
class CancelScope {
 public:
  explicit CancelScope(Pool& pool) : pool_(pool) {}
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;
  void cancel();  // thread-safe, idempotent
  bool cancelled() const;

 private:
  friend class Pool;
  Pool& pool_;
  mutable std::mutex mutex_;
  std::atomic<bool> cancelled_{false};  // set under mutex_; read without it only as a first look
  // Sockets with operations in flight in the scope, and how many. A count that falls to 0 stays
  // (cancel() skips it): the scope is used for every read, and a node allocated and freed each
  // time was a cost per request. There is one entry per socket number ever used in the scope, and
  // socket numbers are reused, so it grows no bigger than the most sockets open at once.
  std::map<NativeSocket, std::size_t> pending_;
};

class Pool {
 public:
  struct Options {
    unsigned concurrency = 0;  // the port's cap; 0: the number of CPUs
    unsigned threads = 0;      // pool threads; 0: twice the concurrency (chapter 5's rule of thumb)
    std::string backend;       // the ch04 backend under PortIo; empty: the platform's default
    // true: reads and writes first try to complete at once, on the thread that issues them, and
    // go through the pump only if they cannot (PortIo::try_read/try_write; Windows's
    // FILE_SKIP_COMPLETION_PORT_ON_SUCCESS). An operation that completes that way does not suspend.
    // Off by default: a coroutine whose reads always find data never suspends, and keeps its
    // thread from everyone else (chapter 7's notes measure both sides of it).
    bool complete_inline = false;
    // Who waits on the ch04 queue: chapter 5's pump thread, or the pool's own threads, one at a
    // time (PortIo's Driver::callers: a completion is handled by the thread that saw it, with no
    // hand-off). Unset: the callers wherever the backend lets them (not io_uring), else the pump.
    std::optional<port::Driver> driver = std::nullopt;
  };
  // What to do with an exception that escapes a spawned task (co_spawn's completion handler).
  using ErrorSink = std::function<void(std::exception_ptr)>;

  explicit Pool(Options options);
  Pool() : Pool(Options{}) {}
  // Stops the threads. Tasks still suspended are never resumed; their frames are kept (a leak,
  // reported on stderr), because a frame may hold a buffer lent to an operation (see pool.cpp).
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // co_spawn: `task` starts on a pool thread (not in this call). If an exception escapes it,
  // `on_error` gets it on that thread; without a sink, join() rethrows the first such exception.
  void spawn(Task<void> task, ErrorSink on_error = {});
  // Blocks until every spawned task has finished. Call it from a thread outside the pool.
  void join();
  // Runs one task to its end from outside the pool and returns its value (or rethrows).
  template <typename T>
  T run(Task<T> task);

  // Sockets: associate before the first operation (what accept_one() returns is associated
  // already); close() ends a connection after whatever is still pending on it.
  void associate(NativeSocket sock);
  void close(OwnedSocket sock);
  // ch04's cancel: every pending operation of `sock` completes with operation_canceled, once.
  void cancel(NativeSocket sock);

  struct IoOp;
  struct [[nodiscard]] OpAwaiter;
  struct [[nodiscard]] AcceptAwaiter;
  struct [[nodiscard]] SleepAwaiter;
  struct [[nodiscard]] HopAwaiter;

  // ---- awaitables: co_await each; a buffer must live until its co_await returns ------------------
  OpAwaiter read(NativeSocket sock, std::span<std::byte> buffer);
  OpAwaiter write(NativeSocket sock, std::span<const std::byte> buffer);  // all of it, or an error
  OpAwaiter connect(NativeSocket sock, const completion::Endpoint& to);
  AcceptAwaiter accept_one(NativeSocket listener);
  // A read that is cancelled (completes aborted) if nothing arrived within `limit`.
  OpAwaiter read_for(NativeSocket sock, std::span<std::byte> buffer, std::chrono::milliseconds limit);
  SleepAwaiter sleep_for(std::chrono::milliseconds d);
  // Post to another thread: suspends, and goes on wherever the port releases the packet (the
  // same thread when the cap leaves no other free, as chapter 5's rules say).
  HopAwaiter hop();

  unsigned concurrency() const { return port_.concurrency(); }
  std::size_t threads() const { return workers_->size(); }
  std::string backend() const { return io_.backend(); }
  bool completes_inline() const { return complete_inline_; }
  port::Driver driver() const { return io_.driver(); }
  std::size_t live_tasks() const { return live_.load(); }

  // ---- the awaiter types (public so that co_await can name them; made only by the calls above) ---
  struct IoOp {
    std::coroutine_handle<> waiter;
    std::uint32_t bytes = 0;
    std::error_code error;
    OwnedSocket accepted;                               // accept: the new socket, already associated
    std::uint64_t timer = 0;                            // read_for: the timer that cancels it (0: none)
    std::chrono::steady_clock::time_point timer_due{};  // and its deadline: the two find it again
    bool is_accept = false;
    CancelScope* scope = nullptr;  // .in(scope): told when the operation completes
    NativeSocket sock{};
  };
  struct [[nodiscard]] OpAwaiter {
    enum Kind { kRead, kWrite, kAccept, kConnect } kind;
    Pool& pool;
    NativeSocket sock;
    std::span<std::byte> buffer{};
    std::span<const std::byte> out{};
    completion::Endpoint to{};
    std::optional<std::chrono::milliseconds> limit{};
    IoOp op{};
    std::uint32_t done_inline = 0;    // a write: what went out at once, before the rest was issued
    port::PortIo::TriedRead tried{};  // a read: what the inline try saw (found nothing there?)

    // co_await pool.read(s, buf).in(scope): the operation belongs to `scope` (see CancelScope).
    OpAwaiter in(CancelScope& scope) && {
      op.scope = &scope;
      return std::move(*this);
    }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> waiter);  // false: the scope was cancelled already
    IoResult await_resume() const { return IoResult{done_inline + op.bytes, op.error}; }

   private:
    bool completed_inline();  // true: done here (op.bytes and op.error say how); nothing is issued
    void issue();
  };
  struct [[nodiscard]] AcceptAwaiter {
    OpAwaiter inner;
    AcceptAwaiter in(CancelScope& scope) && {
      inner.op.scope = &scope;
      return std::move(*this);
    }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> waiter) { return inner.await_suspend(waiter); }
    AcceptResult await_resume() { return {std::move(inner.op.accepted), inner.op.error}; }
  };
  struct [[nodiscard]] SleepAwaiter {
    Pool& pool;
    std::chrono::steady_clock::time_point due;
    bool await_ready() const noexcept { return due <= std::chrono::steady_clock::now(); }
    void await_suspend(std::coroutine_handle<> waiter);
    void await_resume() const noexcept {}
  };
  struct [[nodiscard]] HopAwaiter {
    Pool& pool;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> waiter);
    void await_resume() const noexcept {}
  };

 private:
  friend class CancelScope;
  class Timers;
  struct Detached;
  static Detached own(Pool& pool, Task<void> task, ErrorSink sink);
  enum : std::uint64_t { kIo = 1, kResume = 2 };  // the packets' completion keys

  void handle(const port::Packet& packet);           // on a pool thread: resume whoever waited for it
  bool post_resume(std::coroutine_handle<> waiter);  // a kResume packet; false once stopped
  static void task_started(Pool& pool);
  static void task_finished(Pool& pool, std::exception_ptr error, const ErrorSink& sink);

  port::Port port_;
  port::PortIo io_;
  const bool complete_inline_;
  std::unique_ptr<Timers> timers_;
  std::atomic<std::size_t> live_{0};  // spawned tasks not finished
  std::mutex mutex_;                  // guards first_error_ and the join() wait
  std::condition_variable all_done_;
  std::exception_ptr first_error_;
  std::unique_ptr<port::ThreadPool> workers_;  // last: its threads use everything above
};

namespace detail {
template <typename T>
Task<void> store_in(Task<T> task, std::optional<T>& out) {
  out.emplace(co_await std::move(task));
}
inline Task<void> store_in(Task<void> task, std::optional<bool>& out) {
  co_await std::move(task);
  out.emplace(true);
}
}  // namespace detail

template <typename T>
T Pool::run(Task<T> task) {
  using Slot = std::conditional_t<std::is_void_v<T>, bool, T>;
  std::optional<Slot> out;
  std::exception_ptr error;
  spawn(detail::store_in(std::move(task), out), [&error](std::exception_ptr e) { error = e; });
  join();
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) return std::move(*out);
}

}  // namespace evq::coro
