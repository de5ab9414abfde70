// Lab read_deadline: each case runs on every usable backend.
#include <poll.h>

#include <chrono>
#include <thread>

#include "evq/common/joining_thread.hpp"
#include "evq/completion/lab/read_deadline.hpp"
#include "lab_support.hpp"

using namespace evq::completion;
using namespace evq::completion::labtest;
using namespace std::chrono_literals;

TEST_CASE("data that arrives before the deadline is returned [1 pt]") {
  for (const std::string& name : usable_backends()) {
    INFO("backend " << name);
    auto queue = open_queue(name);
    evq::TcpPair p = pair();
    queue->attach(p.server.get());
    std::string buffer(32, '.');
    evq::JoiningThread sender([&] {       // joins on every way out, also when read_with_deadline throws
      std::this_thread::sleep_for(20ms);  // arrives while the read is pending
      evq::write_all(p.client.get(), "in time");
    });
    lab::DeadlineRead r = lab::read_with_deadline(*queue, p.server.get(), bytes_of(buffer), 10s);
    sender.join();
    CHECK_MESSAGE(!r.error, r.error.message());
    CHECK(!r.timed_out());
    CHECK(buffer.substr(0, r.bytes) == "in time");
    CHECK(queue->pending() == 0);
    queue->detach(p.server.get());
  }
}

TEST_CASE("no data: the read times out aborted, and the buffer is given back [2 pts]") {
  for (const std::string& name : usable_backends()) {
    INFO("backend " << name);
    auto queue = open_queue(name);
    evq::TcpPair p = pair();
    queue->attach(p.server.get());
    const std::string canary(32, '#');
    std::string buffer = canary;
    lab::DeadlineRead r = lab::read_with_deadline(*queue, p.server.get(), bytes_of(buffer), 30ms);
    CHECK_MESSAGE(r.timed_out(), "expected operation_aborted, got: " << r.error.message());
    CHECK(r.bytes == 0);
    CHECK_MESSAGE(queue->pending() == 0, "the read is still lent out after read_with_deadline returned");
    // Data that comes later must not land in the returned buffer.
    evq::write_all(p.client.get(), "too late");
    pollfd pfd{p.server.get(), POLLIN, 0};
    REQUIRE(::poll(&pfd, 1, 10000) == 1);
    Completion stray[2];
    CHECK(queue->wait(stray, 30ms) == 0);
    CHECK_MESSAGE(buffer == canary, "the buffer was written after it was given back: " << buffer);
    queue->detach(p.server.get());
  }
}

TEST_CASE("data already there with a 0 ms deadline: the read's real result wins the race [2 pts]") {
  for (const std::string& name : usable_backends()) {
    INFO("backend " << name);
    auto queue = open_queue(name);
    evq::TcpPair p = pair();
    queue->attach(p.server.get());
    evq::write_all(p.client.get(), "already here");
    pollfd pfd{p.server.get(), POLLIN, 0};
    REQUIRE(::poll(&pfd, 1, 10000) == 1);
    std::string buffer(32, '.');
    lab::DeadlineRead r = lab::read_with_deadline(*queue, p.server.get(), bytes_of(buffer), 0ms);
    CHECK_MESSAGE(!r.timed_out(), "the read had its data; report its completion, not a timeout");
    CHECK(buffer.substr(0, r.bytes) == "already here");
    CHECK(queue->pending() == 0);
    queue->detach(p.server.get());
  }
}
