// EVFILT_USER: one thread wakes another that waits in kevent(), passing a few bits in fflags.
// This is kqueue's PostQueuedCompletionStatus: an event that comes from the program, not the kernel.
#include <thread>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/kq/describe.hpp"
#include "evq/kq/kqueue.hpp"

int main(int argc, char** argv) {
  evq::Cli cli("kqueue_user_wakeup", "Wake a thread blocked in kevent() with EVFILT_USER.");
  cli.option("wakeups", "how many times the other thread wakes the waiter", "3");
  cli.parse(argc, argv);
  const auto wakeups = cli.get_int("wakeups", 1, 1000);

  evq::Narrator say;
  say.title("kqueue user wake-up{}",
            evq::kq::kEmulated ? " (on the project's kqueue emulation for Linux)" : "");
  return cli.run([&] {
    evq::kq::Kqueue kq;
    say.step("kqueue() -> fd {}", kq.fd());
    constexpr uintptr_t kWake = 42;
    // EV_CLEAR: after each delivery the event is untriggered again, ready for the next NOTE_TRIGGER.
    kq.apply(evq::kq::change(kWake, EVFILT_USER, EV_ADD | EV_CLEAR));
    say.step("kevent(changelist: EV_ADD|EV_CLEAR EVFILT_USER ident {})", kWake);

    long long received = 0;
    for (long long round = 1; round <= wakeups; ++round) {
      // [snippet user-trigger]
      std::thread poster([&kq, round] {
        // Any thread may change the kqueue while another waits in it.
        const unsigned bits = static_cast<unsigned>(round) & NOTE_FFLAGSMASK;
        kq.apply(evq::kq::change(kWake, EVFILT_USER, 0, NOTE_TRIGGER | NOTE_FFCOPY | bits));
      });
      std::array<struct kevent, 1> events{};
      std::size_t n = kq.wait(events, std::chrono::seconds(10));
      poster.join();
      // [/snippet user-trigger]
      if (n != 1 || events[0].filter != EVFILT_USER) throw std::runtime_error("no wake-up within 10 s");
      say.step("other thread: kevent(NOTE_TRIGGER|NOTE_FFCOPY|{}); waiter: kevent -> {}", round,
               evq::kq::describe(events[0]));
      if (events[0].fflags != static_cast<unsigned>(round))
        throw std::runtime_error("the fflags did not come through");
      ++received;
    }
    say.aside("{} wake-ups, each carrying its round number in fflags", received);
    return 0;
  });
}
