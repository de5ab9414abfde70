// EVFILT_TIMER: a periodic timer and a oneshot timer on one kqueue, no timerfd or signal in sight.
// `data` in each event is how many times the timer expired since it was last reported.
#include <thread>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/kq/describe.hpp"
#include "evq/kq/kqueue.hpp"

int main(int argc, char** argv) {
  evq::Cli cli("kqueue_timers", "A periodic and a oneshot EVFILT_TIMER on one kqueue.");
  cli.option("period-ms", "period of the periodic timer (ms)", "20");
  cli.option("ticks", "how many periodic events to wait for", "5");
  cli.option("oneshot-ms", "delay of the oneshot timer (ms)", "50");
  cli.parse(argc, argv);
  const auto period = cli.get_int("period-ms", 1, 10'000);
  const auto ticks = cli.get_int("ticks", 1, 1000);
  const auto oneshot = cli.get_int("oneshot-ms", 1, 10'000);

  evq::Narrator say;
  say.title("kqueue timers{}", evq::kq::kEmulated ? " (on the project's kqueue emulation for Linux)" : "");
  return cli.run([&] {
    evq::kq::Kqueue kq;
    say.step("kqueue() -> fd {}", kq.fd());
    // [snippet timers-add]
    constexpr uintptr_t kPeriodic = 1, kOneshot = 2;  // timer idents are ours to choose
    const struct kevent timers[] = {
        evq::kq::change(kPeriodic, EVFILT_TIMER, EV_ADD, evq::kq::kNoteMilliseconds, period),
        evq::kq::change(kOneshot, EVFILT_TIMER, EV_ADD | EV_ONESHOT, evq::kq::kNoteMilliseconds, oneshot),
    };
    kq.apply(timers);
    // [/snippet timers-add]
    say.step("kevent(changelist: {}, {})", evq::kq::describe(timers[0]), evq::kq::describe(timers[1]));

    long long periodic_events = 0, expirations = 0;
    bool oneshot_seen = false;
    std::array<struct kevent, 8> events{};
    while (periodic_events < ticks || !oneshot_seen) {
      std::size_t n = kq.wait(events, std::chrono::seconds(10));
      if (n == 0) throw std::runtime_error("no timer fired within 10 s");
      for (std::size_t i = 0; i < n; ++i) {
        say.step("kevent -> {}", evq::kq::describe(events[i]));
        if (events[i].ident == kPeriodic) {
          ++periodic_events;
          expirations += events[i].data;
        } else if (events[i].ident == kOneshot) {
          if (oneshot_seen) throw std::runtime_error("the EV_ONESHOT timer fired twice");
          oneshot_seen = true;
          say.aside("EV_ONESHOT: delivered once, and now deleted");
        }
      }
      if (periodic_events == 2) {
        // Slow down on purpose: the timer keeps counting, and the next event says how many it missed.
        say.aside("sleeping {} ms: the next periodic event reports data > 1", 3 * period);
        std::this_thread::sleep_for(std::chrono::milliseconds(3 * period));
      }
    }
    const struct kevent stop = evq::kq::change(kPeriodic, EVFILT_TIMER, EV_DELETE);
    kq.apply(stop);
    say.step("kevent(changelist: {}) -> the periodic timer is gone", evq::kq::describe(stop));
    say.aside("{} periodic events carried {} expirations", periodic_events, expirations);
    return 0;
  });
}
