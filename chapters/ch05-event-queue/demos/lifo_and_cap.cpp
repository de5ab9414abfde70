// The port's two scheduling rules, narrated with a handful of threads:
//   LIFO release: the most recent waiter gets the next packet (its cache is still warm);
//   the concurrency cap: no waiter is released while `concurrency` threads are running, and a
//   thread that comes back to get() takes the queued packet without ever blocking.
#include <chrono>
#include <memory>
#include <vector>

#include <fmt/core.h>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/port/port.hpp"
#include "worker.hpp"

using namespace std::chrono_literals;
using evq::port::Port;
using evq::port::Wait;
using evq::port::demo::Worker;
using Command = Worker::Command;

namespace {

std::string counters(const Port& port) {
  Port::Counters c = port.counters();
  return fmt::format("running {}, waiting {}, queued {}", c.running, c.waiting, c.queued);
}

bool wait_for(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

int fail(const std::string& what) {
  fmt::print(stderr, "lifo_and_cap: UNEXPECTED: {}\n", what);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("lifo_and_cap", "LIFO release and the concurrency cap of a completion port, step by step.");
  cli.option("threads", "worker threads that wait on the port", "3");
  cli.epilog("Try: build/dev/bin/ch05/lifo_and_cap --threads 4");
  cli.parse(argc, argv);
  return cli.run([&]() -> int {
    const int threads = static_cast<int>(cli.get_int("threads", 2, 16));
    evq::Narrator say;

    say.title("a port with concurrency 1 and {} waiting threads", threads);
    Port port(1);
    say.step("Port port(1) -> concurrency {}", port.concurrency());
    say.aside("CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1)");

    std::vector<std::unique_ptr<Worker>> workers;
    for (int i = 1; i <= threads; ++i) {
      workers.push_back(std::make_unique<Worker>(port, i));
      workers.back()->send(Command::get);
      if (!wait_for([&] { return port.counters().waiting == static_cast<std::size_t>(i); }))
        return fail("a worker did not park");
      say.step("worker {} calls get() and parks -> {}", i, counters(port));
    }
    say.aside("the waiters form a stack: worker {} is on top", threads);

    say.title("LIFO: the most recent waiter is released");
    port.post(1);
    say.step("post(key 1)");
    Worker& top = *workers.back();
    auto first = top.result(5s);
    if (!first || first->packet.key != 1) return fail("the most recent waiter did not get key 1");
    say.step("worker {} (the last to wait) returns from get() with key 1 -> {}", top.number(),
             counters(port));
    say.aside("direct hand-off: post() chose worker {} and gave it the packet; nobody raced for it",
              top.number());

    say.title("the cap: one thread is running, so packets queue up");
    port.post(2);
    port.post(3);
    say.step("post(key 2), post(key 3) -> {}", counters(port));
    if (port.counters().queued != 2) return fail("the packets should be queued while the cap is reached");
    say.aside("{} threads are waiting, yet none is released: that would be a second running thread",
              threads - 1);

    top.send(Command::get);
    auto second = top.result(5s);
    if (!second || second->packet.key != 2) return fail("the returning thread should take key 2");
    say.step("worker {} comes back to get() and takes key 2 at once, without blocking -> {}", top.number(),
             counters(port));
    say.aside("no context switch: the same thread keeps running, the others keep sleeping");

    say.title("blocking elsewhere: the port may release a waiter in the meantime");
    top.send(Command::block);
    Worker& next = *workers[workers.size() - 2];
    auto third = next.result(5s);
    if (!third || third->packet.key != 3) return fail("the next most recent waiter should get key 3");
    say.step("worker {} enters a BlockingScope; worker {} is released with key 3 -> {}", top.number(),
             next.number(), counters(port));
    top.send(Command::unblock);
    if (!wait_for([&] { return port.counters().running == 2; })) return fail("the overshoot did not show");
    say.step("worker {} leaves its scope -> {}", top.number(), counters(port));
    say.aside("2 running with a cap of 1: the brief overshoot; nobody is released until it falls back");

    say.title("close");
    std::size_t dropped = port.close();
    say.step("close() -> {} queued packets dropped", dropped);
    int closed = 0;
    for (int i = 0; i + 2 < threads; ++i)
      if (auto r = workers[static_cast<std::size_t>(i)]->result(5s); r && r->status == Wait::closed) ++closed;
    if (closed != threads - 2) return fail("every waiter should return 'closed'");
    say.step("{} remaining waiter(s) return Wait::closed", closed);
    workers.clear();
    return 0;
  });
}
