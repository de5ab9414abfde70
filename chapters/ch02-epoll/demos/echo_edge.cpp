// An edge-triggered epoll echo server that drains every socket to EAGAIN.
#include "echo_demo.hpp"

using namespace evq;
using namespace evq::epoll;

int main(int argc, char** argv) {
  Cli cli("echo_edge",
          "An echo server on edge-triggered epoll: each socket is registered once for "
          "EPOLLIN|EPOLLOUT|EPOLLET and every event is drained until EAGAIN.");
  demo::add_echo_options(cli);
  cli.epilog(
      "Watch for: no epoll_ctl(MOD) at all after the ADD; fewer wake-ups than echo_level for\n"
      "the same load. See notes/ch02-epoll.md, 'The echo server'.");
  cli.parse(argc, argv);
  return cli.run([&] {
    return demo::run_echo_demo(
        cli, "echo_edge: edge-triggered epoll echo server", [](UniqueFd listener, Narrator* narrator) {
          return std::make_unique<demo::Wrapped<EchoServer>>(
              std::move(listener), EchoServerOptions{.trigger = Trigger::edge, .narrator = narrator});
        });
  });
}
