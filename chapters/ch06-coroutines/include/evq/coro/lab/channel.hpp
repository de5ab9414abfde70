// Lab "channel": a bounded channel of strings between coroutines on one Loop.
//
//   Channel jobs(loop, 2);                                   // room for 2 values
//   bool sent = co_await jobs.send("job 1");                 // waits while full; false once closed
//   std::optional<std::string> job = co_await jobs.receive(); // waits while empty; nullopt at the end
//   jobs.close();                                            // no more sends
//
// The contract:
//  - values come out in the order they were sent, those whose senders had to wait included;
//  - at most `capacity` values wait in the channel (capacity 0 is refused: std::invalid_argument);
//    a send into a full channel suspends until a receive makes room, and then its value goes in;
//  - a receive from an empty channel suspends until a value comes; receivers that wait are served
//    first come, first served;
//  - close(): sends return false from then on (the value is dropped), and so do the senders still
//    waiting; receivers still get every value buffered before the close, then nullopt, and the
//    receivers waiting on an empty channel wake up with nullopt;
//  - a coroutine that wakes another does it through loop.resume_soon(), never by resuming it inside
//    its own call: the woken one runs on the loop's next turn.
// The channel must outlive every coroutine suspended in it. One thread: the loop's.
//
// Your file: exercises/ch06-coroutines/channel.cpp (the members below are yours to use; the
// grader builds your .cpp against this header as it is).
#pragma once

#include <coroutine>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>

#include "evq/coro/loop.hpp"

namespace evq::coro::lab {

class Channel {
 public:
  Channel(Loop& loop, std::size_t capacity);
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // What co_await send() and co_await receive() run. Each lives in the awaiting coroutine's frame
  // while it waits: the channel keeps pointers to the waiting ones.
  struct [[nodiscard]] SendAwaiter {
    Channel& channel;
    std::string value;
    bool sent = false;
    std::coroutine_handle<> waiter{};
    bool await_ready();
    void await_suspend(std::coroutine_handle<> h);
    bool await_resume() const { return sent; }
  };
  struct [[nodiscard]] ReceiveAwaiter {
    Channel& channel;
    std::optional<std::string> value{};
    std::coroutine_handle<> waiter{};
    bool await_ready();
    void await_suspend(std::coroutine_handle<> h);
    std::optional<std::string> await_resume() { return std::move(value); }
  };

  SendAwaiter send(std::string value) { return SendAwaiter{*this, std::move(value)}; }
  ReceiveAwaiter receive() { return ReceiveAwaiter{*this}; }
  void close();
  bool closed() const { return closed_; }
  std::size_t size() const { return buffer_.size(); }  // values waiting in the channel

 private:
  Loop& loop_;
  std::size_t capacity_;
  bool closed_ = false;
  std::deque<std::string> buffer_;         // at most capacity_ values
  std::deque<SendAwaiter*> senders_;       // suspended in send(): the channel was full
  std::deque<ReceiveAwaiter*> receivers_;  // suspended in receive(): the channel was empty
};

}  // namespace evq::coro::lab
