// The five steps of an event queue (Samson's, told there with IOCP; notes/references.md), told with kqueue.
//
// IOCP lends the kernel a buffer in step 3 and finds it filled in step 5. kqueue is readiness-based:
// step 3 lends nothing, step 4 wakes when data *can* be read, and step 5 is our own read().
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <string>
#include <string_view>

#include "evq/common/cli.hpp"
#include "evq/common/error.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/net.hpp"
#include "evq/kq/describe.hpp"
#include "evq/kq/kqueue.hpp"

int main(int argc, char** argv) {
  evq::Cli cli("kqueue_basics", "The five steps of an event queue, told with kqueue(2).");
  cli.option("message", "what the client sends", "hello, kqueue");
  cli.epilog("Try: build/dev/bin/ch03/kqueue_basics --message 'any text'");
  cli.parse(argc, argv);
  const std::string message = cli.get("message");
  if (message.empty() || message.size() > 1000) cli.fail("--message must be 1 to 1000 characters");

  evq::Narrator say;
  say.title("kqueue basics{}", evq::kq::kEmulated ? " (on the project's kqueue emulation for Linux)" : "");
  return cli.run([&] {
    // [snippet basics-steps]
    // Step 1: the event queue.
    evq::kq::Kqueue kq;
    say.step("kqueue() -> fd {}", kq.fd());

    // Step 2: a buffer, and a socket (a loopback connection; we keep the server end).
    std::array<char, 1024> buffer{};
    evq::TcpPair pair = evq::tcp_pair();
    evq::set_nonblocking(pair.server.get());
    say.step("socket/connect/accept on 127.0.0.1 -> client fd {}, server fd {}", pair.client.get(),
             pair.server.get());

    // Step 3: interest in reads. No buffer changes hands: udata is only a note kqueue hands back.
    const struct kevent interest =
        evq::kq::change(static_cast<uintptr_t>(pair.server.get()), EVFILT_READ, EV_ADD, 0, 0, buffer.data());
    kq.apply(interest);
    say.step("kevent(changelist: {}, no eventlist) -> 0", evq::kq::describe(interest));
    say.aside("kqueue lends nothing to the kernel: readiness, not completion");

    evq::write_all(pair.client.get(), message);
    say.step("client: send({} bytes)", message.size());

    // Step 4: wait until the socket is readable.
    std::array<struct kevent, 4> events{};
    std::size_t n = kq.wait(events, std::chrono::seconds(10));
    if (n != 1 || events[0].filter != EVFILT_READ) throw std::runtime_error("expected one read event");
    say.step("kevent(no changes, 4 slots, 10 s) -> {} event: {}", n, evq::kq::describe(events[0]));
    say.aside("data = {} bytes are ready; udata points at our buffer again", events[0].data);

    // Step 5: unblocked, and now WE read into the buffer (IOCP would have done this for us).
    auto* into = static_cast<char*>(events[0].udata);
    ssize_t got = evq::check(::read(pair.server.get(), into, buffer.size()), "read");
    std::string_view received(into, static_cast<std::size_t>(got));
    say.step("read(fd {}) -> {} bytes: \"{}\"", pair.server.get(), got, received);
    // [/snippet basics-steps]
    if (received != message) {
      fmt::print(stderr, "kqueue_basics: read \"{}\", expected \"{}\"\n", received, message);
      return 1;
    }
    say.aside("done: five steps, one readiness event, one read");
    return 0;
  });
}
