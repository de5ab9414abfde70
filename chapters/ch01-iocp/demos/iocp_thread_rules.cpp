// iocp_thread_rules: measures, on this host, the two thread rules of Microsoft's "I/O Completion Ports" — LIFO release of
// waiting threads and the concurrency cap — over several trials, and prints what it saw next to what
// Windows documents. Under Wine 8 the two columns differ: that is the lesson, not a bug of this demo.
#include <fmt/core.h>

#include <chrono>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/win32.hpp"
#include "evq/iocp/thread_probe.hpp"

namespace {

std::string order_text(const std::vector<int>& ids) {
  std::string text;
  for (int id : ids) text += (text.empty() ? "" : ",") + std::string(1, static_cast<char>('A' + id));
  return text;
}

int run(const evq::Cli& cli) {
  evq::Narrator say(true);
  const int trials = static_cast<int>(cli.get_int("trials", 1, 1000));
  const int waiters = static_cast<int>(cli.get_int("waiters", 2, 16));
  const auto grace = std::chrono::milliseconds(cli.get_int("grace-ms", 10, 5000));
  auto wine = evq::wine_version();
  say.title("IOCP thread rules, measured on {} ({} CPUs)", wine ? "Wine " + *wine : std::string("Windows"),
            evq::processor_count());

  std::map<std::string, int> orders;
  for (int t = 0; t < trials; ++t) ++orders[order_text(evq::iocp::probe_release_order(waiters, grace))];
  std::vector<int> lifo;
  for (int id = waiters - 1; id >= 0; --id) lifo.push_back(id);
  say.step("{} waiters park in order A, B, ...; packets posted one by one ({} trials)", waiters, trials);
  for (const auto& [order, count] : orders)
    say.aside("released {}: {} of {} trials{}", order, count, trials,
              order == order_text(lifo) ? "  <- LIFO, as documented" : "");

  std::map<int, int> peaks;
  for (int t = 0; t < trials; ++t)
    ++peaks[evq::iocp::probe_peak_running(1, 2, grace, std::chrono::milliseconds(300))];
  say.step("concurrency 1, two threads parked, two packets posted at once ({} trials)", trials);
  for (const auto& [peak, count] : peaks)
    say.aside("peak running threads {}: {} of {} trials{}", peak, count, trials,
              peak == 1 ? "  <- capped, as documented" : "  <- no cap");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("iocp_thread_rules",
               "Measures LIFO release and the concurrency cap of a completion port on this host.");
  cli.option("trials", "how many times to run each experiment", "5");
  cli.option("waiters", "threads parked for the release-order experiment", "3");
  cli.option("grace-ms", "pause between parking threads (no API reports a parked thread)", "100");
  cli.epilog(
      "Try: tools/wine-run $PWD/build/windows-wine/wineprefix build/windows-wine/bin/ch01/iocp_thread_rules.exe --trials 20   (Wine 8: FIFO and no cap)");
  cli.parse(argc, argv);
  return cli.run([&] { return run(cli); });
}
