// two_ways: the same read told both ways.
//
//   readiness (ch02, epoll):   "fd 6 is readable"  -> now you call recv() into your buffer
//   completion (this chapter): "here is your read"  -> the bytes are already in the buffer you lent
#include <fmt/core.h>

#include <string>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/net.hpp"
#include "evq/completion/backends.hpp"
#include "evq/epoll/poll.hpp"

using namespace evq::completion;

namespace {

bool readiness_way(evq::Narrator& say) {
  say.title("1. readiness: epoll tells us WHEN we may read; we read");
  evq::TcpPair pair = evq::tcp_pair();
  say.step("tcp_pair over 127.0.0.1 -> client fd {}, server fd {}", pair.client.get(), pair.server.get());
  evq::epoll::Poll poll;
  say.step("epoll_create1(EPOLL_CLOEXEC) -> fd {}", poll.fd());
  poll.registry().add(pair.server.get(), 1, EPOLLIN);
  say.step("epoll_ctl(EPOLL_CTL_ADD, fd {}, EPOLLIN, token 1)", pair.server.get());
  evq::write_all(pair.client.get(), "hello, readiness");
  say.step("client: send(\"hello, readiness\")");
  evq::epoll::Events events(4);
  std::size_t n = poll.wait(events, std::chrono::milliseconds(5000));
  if (n != 1) return fmt::print("epoll_wait returned {} events, expected 1\n", n), false;
  say.step("epoll_wait -> token {} {}", events[0].token, evq::epoll::describe(events[0].flags));
  say.aside(
      "nothing has been read yet: the bytes are still in the socket, and we still own no buffer for them");
  char buffer[64];
  ssize_t got = ::recv(pair.server.get(), buffer, sizeof buffer, 0);
  if (got <= 0) return fmt::print("recv returned {}\n", got), false;
  std::string text(buffer, static_cast<std::size_t>(got));
  say.step("recv(fd {}, buffer, 64) -> {} bytes \"{}\"", pair.server.get(), got, text);
  say.aside("we did the reading ourselves, after we were told we could");
  return text == "hello, readiness";
}

bool completion_way(evq::Narrator& say, const std::string& backend) {
  say.title("2. completion: we lend a buffer; the queue tells us when our read is DONE");
  evq::TcpPair pair = evq::tcp_pair();
  say.step("tcp_pair over 127.0.0.1 -> client fd {}, server fd {}", pair.client.get(), pair.server.get());
  auto queue = open_queue(backend);
  say.step("open_queue(\"{}\") -> a completion queue on {}", backend, queue->backend());
  queue->attach(pair.server.get());
  say.step("attach(fd {})", pair.server.get());
  std::string buffer(64, '.');
  queue->read(pair.server.get(), std::as_writable_bytes(std::span(buffer)), 1);
  say.step("read(fd {}, buffer of 64 bytes, user_data 1)", pair.server.get());
  say.aside(
      "the buffer is lent: until its completion the queue (or the kernel) may write it at any time, "
      "and we must not touch it");
  evq::write_all(pair.client.get(), "hello, completion");
  say.step("client: send(\"hello, completion\")");
  Completion done[4];
  std::size_t n = queue->wait(done, std::chrono::milliseconds(5000));
  if (n != 1) return fmt::print("wait returned {} completions, expected 1\n", n), false;
  say.step("wait -> completion {{user_data {}, {}, {} bytes}}", done[0].user_data, to_string(done[0].op),
           done[0].bytes);
  std::string text = buffer.substr(0, done[0].bytes);
  say.aside("no recv() of ours: the bytes were already in our buffer when we heard: \"{}\"", text);
  say.aside("and from now on the queue never touches that buffer again");
  queue->detach(pair.server.get());
  return text == "hello, completion";
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("two_ways",
               "The same read told both ways: readiness then read (ch02) versus lend then complete (ch04).");
  cli.option("backend", "the completion backend for part 2: epoll | kqueue | io_uring | iocp", "default");
  cli.flag("quiet", "do not narrate");
  cli.parse(argc, argv);
  evq::Narrator say(!cli.has("quiet"));
  std::string backend = cli.get("backend") == "default" ? default_backend() : cli.get("backend");
  if (std::string why = why_not_usable(backend); !why.empty()) cli.fail(why);
  try {
    bool ok = readiness_way(say);
    ok = completion_way(say, backend) && ok;
    return ok ? 0 : 1;
  } catch (const std::invalid_argument& e) {
    cli.fail(e.what());
  } catch (const std::exception& e) {
    fmt::print(stderr, "two_ways: {}\n", e.what());
    return 1;
  }
}
