// Several threads on one epoll instance; EPOLLONESHOT gives each connection to one thread at a time.
#include "echo_demo.hpp"
#include "evq/epoll/oneshot_echo_server.hpp"

using namespace evq;
using namespace evq::epoll;

namespace {
class Oneshot : public demo::Wrapped<OneshotEchoServer> {
 public:
  using Wrapped::Wrapped;
  void report(Narrator& n) const override {
    auto per_thread = server.events_per_thread();
    std::string spread;
    for (std::size_t i = 0; i < per_thread.size(); ++i)
      spread += fmt::format("{}worker {}: {}", i ? ", " : "", i, per_thread[i]);
    n.step("events served per worker: {}", spread);
    n.aside("which waiting thread epoll wakes is the kernel's choice; EPOLLONESHOT makes it safe");
  }
};
}  // namespace

int main(int argc, char** argv) {
  Cli cli("echo_oneshot_mt",
          "A multithreaded echo server: N threads wait on one epoll instance; "
          "every socket is EPOLLONESHOT and re-armed with EPOLL_CTL_MOD after each event.");
  demo::add_echo_options(cli);
  cli.option("threads", "worker threads sharing the epoll instance", "4");
  cli.epilog(
      "Watch for: the [worker N] tags change from event to event for the same fd, and every\n"
      "event is followed by a re-arm. See notes/ch02-epoll.md, 'Many threads, one epoll: EPOLLONESHOT'.");
  cli.parse(argc, argv);
  return cli.run([&] {
    int threads = static_cast<int>(cli.get_int("threads", 1, 64));
    std::string title = fmt::format("echo_oneshot_mt: {} threads, one epoll, EPOLLONESHOT", threads);
    return demo::run_echo_demo(cli, title, [threads](UniqueFd listener, Narrator* narrator) {
      return std::make_unique<Oneshot>(std::move(listener),
                                       OneshotEchoServerOptions{.threads = threads, .narrator = narrator});
    });
  });
}
