// A worker thread a demo can steer one step at a time, so the narration happens in a fixed order:
// the main thread tells a worker "get()", "block elsewhere" or "exit", and waits for the outcome.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "evq/port/blocking_scope.hpp"
#include "evq/port/port.hpp"

namespace evq::port::demo {

class Worker {
 public:
  enum class Command { none, get, block, unblock, exit };

  Worker(Port& port, int number) : port_(port), number_(number), thread_([this] { run(); }) {}
  ~Worker() {
    send(Command::exit);
    thread_.join();
  }

  int number() const { return number_; }

  // Tell the worker what to do next.
  void send(Command command) {
    std::lock_guard lock(mutex_);
    command_ = command;
    changed_.notify_all();
  }

  // The result of its last get(), once it has one (waits at most `timeout`).
  std::optional<GetResult> result(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return result_.has_value(); })) return std::nullopt;
    return std::exchange(result_, std::nullopt);
  }
  // Whether it has finished a get() (without taking the result).
  bool has_result() {
    std::lock_guard lock(mutex_);
    return result_.has_value();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return command_ != Command::none; });
      Command c = std::exchange(command_, Command::none);
      if (c == Command::exit) return;
      lock.unlock();
      if (c == Command::get) {
        GetResult r = port_.get(std::chrono::seconds(10));
        lock.lock();
        result_ = r;
        changed_.notify_all();
        continue;
      }
      if (c == Command::block) {
        BlockingScope blocking;  // "this thread now blocks elsewhere"
        lock.lock();
        changed_.wait(lock, [&] { return command_ == Command::unblock || command_ == Command::exit; });
        if (command_ == Command::unblock) command_ = Command::none;
        continue;  // the scope ends as this block closes: running again
      }
      lock.lock();
    }
  }

  Port& port_;
  int number_;
  std::mutex mutex_;
  std::condition_variable changed_;
  Command command_ = Command::none;
  std::optional<GetResult> result_;
  std::thread thread_;
};

}  // namespace evq::port::demo
