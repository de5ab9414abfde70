// Lab line_reader: each case runs on every usable backend.
#include <stdexcept>
#include <system_error>

#include "evq/completion/lab/line_reader.hpp"
#include "lab_support.hpp"

using namespace evq::completion;
using namespace evq::completion::labtest;
using namespace std::chrono_literals;

TEST_CASE("a line longer than the buffer, split over many reads, comes out whole [2 pts]") {
  for (const std::string& name : usable_backends()) {
    INFO("backend " << name);
    auto queue = open_queue(name);
    evq::TcpPair p = pair();
    queue->attach(p.server.get());
    lab::LineReader reader(*queue, p.server.get(), 4);  // 4-byte reads: every line spans several
    evq::write_all(p.client.get(), "hello, completion world\nsecond\n");
    CHECK(reader.next_line() == std::optional<std::string>("hello, completion world"));
    CHECK(reader.next_line() == std::optional<std::string>("second"));
    CHECK(queue->pending() == 0);
    queue->detach(p.server.get());
  }
}

TEST_CASE("several lines in one read come out one at a time, in order [1 pt]") {
  for (const std::string& name : usable_backends()) {
    INFO("backend " << name);
    auto queue = open_queue(name);
    evq::TcpPair p = pair();
    queue->attach(p.server.get());
    lab::LineReader reader(*queue, p.server.get(), 4096);
    evq::write_all(p.client.get(), "one\ntwo\n\nfour\n");
    CHECK(reader.next_line() == std::optional<std::string>("one"));
    CHECK(reader.next_line() == std::optional<std::string>("two"));
    CHECK(reader.next_line() == std::optional<std::string>(""));
    CHECK(reader.next_line() == std::optional<std::string>("four"));
    queue->detach(p.server.get());
  }
}

TEST_CASE("end of stream gives the unterminated last line, then nullopt [1 pt]") {
  for (const std::string& name : usable_backends()) {
    INFO("backend " << name);
    auto queue = open_queue(name);
    evq::TcpPair p = pair();
    queue->attach(p.server.get());
    lab::LineReader reader(*queue, p.server.get(), 8);
    evq::write_all(p.client.get(), "done\nno newline");
    evq::shutdown_write(p.client.get());
    CHECK(reader.next_line() == std::optional<std::string>("done"));
    CHECK(reader.next_line() == std::optional<std::string>("no newline"));
    CHECK(reader.next_line() == std::nullopt);
    CHECK(reader.next_line() == std::nullopt);  // and stays so
    queue->detach(p.server.get());
  }
}

TEST_CASE("a peer that resets is a std::system_error, not a line or a hang [1 pt]") {
  for (const std::string& name : usable_backends()) {
    INFO("backend " << name);
    auto queue = open_queue(name);
    evq::TcpPair p = pair();
    queue->attach(p.server.get());
    lab::LineReader reader(*queue, p.server.get(), 64);
    evq::write_all(p.client.get(), "partial");
    evq::set_linger_reset(p.client.get());
    p.client.reset();  // RST
    bool threw_system_error = false;
    try {
      for (int i = 0; i < 3; ++i) reader.next_line();  // "partial" may be lost with the RST
    } catch (const std::system_error& e) {
      threw_system_error = e.code() == std::errc::connection_reset;
      INFO("error: " << e.what());
    } catch (const std::exception& e) {
      FAIL("expected std::system_error(connection_reset), got: " << e.what());
    }
    CHECK(threw_system_error);
    CHECK(queue->pending() == 0);
    queue->detach(p.server.get());
  }
}
