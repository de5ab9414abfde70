// A level-triggered epoll echo server with its own loopback clients.
#include "echo_demo.hpp"

using namespace evq;
using namespace evq::epoll;

int main(int argc, char** argv) {
  Cli cli("echo_level",
          "An echo server on level-triggered epoll: EPOLLIN while idle, EPOLLOUT only "
          "while an echo is waiting to be written.");
  demo::add_echo_options(cli);
  cli.epilog(
      "Watch for: one read per event. When a client stops reading, its echo no longer fits and\n"
      "the server swaps EPOLLIN for EPOLLOUT with epoll_ctl(MOD) until it drains (the summary\n"
      "counts these waits; the tests force them). See notes/ch02-epoll.md, 'The echo server'.");
  cli.parse(argc, argv);
  return cli.run([&] {
    return demo::run_echo_demo(
        cli, "echo_level: level-triggered epoll echo server", [](UniqueFd listener, Narrator* narrator) {
          return std::make_unique<demo::Wrapped<EchoServer>>(
              std::move(listener), EchoServerOptions{.trigger = Trigger::level, .narrator = narrator});
        });
  });
}
