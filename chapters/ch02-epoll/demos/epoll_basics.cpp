// The five steps of an event queue (Samson tells them for IOCP; notes/references.md), told with epoll.
//
// The point of the demo is step 5: IOCP hands back a filled buffer, epoll hands back "ready".
// The read is still ours to do, and until we do it, level-triggered epoll keeps saying "ready".
#include <array>
#include <thread>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/net.hpp"
#include "evq/epoll/nonblocking.hpp"
#include "evq/epoll/poll.hpp"

using namespace evq;
using namespace evq::epoll;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  Cli cli("epoll_basics",
          "The five steps of an event queue, told with epoll: readiness first, "
          "then the read is ours to do.");
  cli.option("message", "what the peer sends", "hello, epoll");
  cli.option("first-read", "bytes to read the first time (the rest shows level-triggering)", "5");
  cli.epilog("Compare with the IOCP flow in notes/ch02-epoll.md, 'The problem'.");
  cli.parse(argc, argv);
  return cli.run([&] {
    const std::string message = cli.get("message");
    if (message.empty()) cli.fail("--message must not be empty");
    auto first_read = static_cast<std::size_t>(cli.get_int("first-read", 1, 4096));

    Narrator n;
    n.title("epoll_basics: the five steps of an event queue in syscalls 1-6, then level-triggering in 7-10");

    // [snippet basics-steps]
    // Step 1: create the event queue.
    Poll poll;
    n.step("epoll_create1(EPOLL_CLOEXEC) -> fd {}", poll.fd());
    n.aside("step 1 of 5: the queue exists; nothing is watched yet");

    // Step 2: a socket, and a buffer that stays ours: epoll never sees it.
    TcpPair pair = tcp_pair();
    set_nonblocking(pair.server.get());
    std::array<std::byte, 4096> buffer{};
    n.step("socket/connect/accept4 on 127.0.0.1 -> our end is fd {}, the peer's is fd {}", pair.server.get(),
           pair.client.get());
    n.aside("step 2 of 5: a 4096-byte buffer on our stack; unlike IOCP we do not lend it to the kernel");

    // Step 3: register interest in reads. No buffer goes with it, only a token.
    const Token token = 7;
    poll.registry().add(pair.server.get(), token, EPOLLIN);
    n.step("epoll_ctl(EPOLL_CTL_ADD, fd {}, EPOLLIN, token {})", pair.server.get(), token);
    n.aside("step 3 of 5: interest registered, with a token and no buffer");

    // Step 4: wait. Another thread plays the peer and sends a little later.
    std::jthread peer([&] {
      std::this_thread::sleep_for(100ms);  // only so the wait visibly blocks first
      write_all(pair.client.get(), message);
    });
    Events events(8);
    n.step("epoll_wait(fd {}, max 8 events, no timeout) ... blocks until the peer writes", poll.fd());
    std::size_t ready = 0;
    while (ready == 0) ready = poll.wait(events, 5000ms);  // 0 only on EINTR or a lost peer
    n.step("epoll_wait -> {} event: token {}, {}", ready, events[0].token, describe(events[0].flags));
    n.aside("step 4 of 5: the wait (two lines: as it blocks, as it returns) says \"ready\"");

    // Step 5: the event says "ready", not "done". The buffer is still empty; we read ourselves.
    n.aside("step 5 of 5: the buffer holds {} bytes so far: readiness is not completion, we read ourselves",
            0);
    IoResult r = read_some(pair.server.get(), std::span(buffer).first(first_read));
    n.step("recv(fd {}, {} bytes) -> {} bytes: \"{}\"", pair.server.get(), first_read, r.bytes,
           std::string_view(reinterpret_cast<const char*>(buffer.data()), r.bytes));
    // [/snippet basics-steps]

    // Level-triggered: what we left unread is reported again, at once.
    ready = poll.wait(events, 0ms);
    n.step("epoll_wait(timeout 0) -> {} event(s){}", ready,
           ready ? fmt::format(": {} again, {} bytes are still unread", describe(events[0].flags),
                               message.size() - std::min(first_read, message.size()))
                 : "");
    n.aside("level-triggered: epoll reports the state (\"there is data\") until we change it");
    std::size_t total = r.bytes;
    for (;;) {
      IoResult more = read_some(pair.server.get(), buffer);
      if (!more.done()) {
        n.step("recv(fd {}) -> EAGAIN: drained, {} of {} bytes read", pair.server.get(), total,
               message.size());
        break;
      }
      total += more.bytes;
      n.step("recv(fd {}) -> {} more bytes", pair.server.get(), more.bytes);
    }
    ready = poll.wait(events, 0ms);
    n.step("epoll_wait(timeout 0) -> {} events: nothing left to report", ready);

    bool ok = total == message.size() && ready == 0;
    fmt::print("\n{}\n", ok ? "OK: IOCP would have handed us a filled buffer; epoll handed us "
                              "\"ready\" and we did the read."
                            : "FAILED: the bytes read do not add up");
    return ok ? 0 : 1;
  });
}
