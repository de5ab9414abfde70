#include "figures.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cstdlib>

namespace evq::hostile {

void record(const ServerSpec& spec, const std::string& case_name, const Figures& f) {
  const char* path = std::getenv("EVQ_HOSTILE_FIGURES");
  if (!path || !*path) return;
  auto or_dash = [](const auto& v, auto format) { return v ? format(*v) : std::string("-"); };
  std::string fds = f.fds_before ? fmt::format("{} -> {}", *f.fds_before, f.fds_after.value_or(-1)) : "-";
  std::string rss = or_dash(f.peak_rss, [](std::size_t b) {
    return fmt::format("{:.1f} MiB", static_cast<double>(b) / 1048576.0);
  });
  std::string cpu = or_dash(f.cpu_share, [](double s) { return fmt::format("{:.1f}%", s * 100); });
  std::string line = fmt::format("{}\t{}\t{}\t{}\t{}\t{}\n", spec.name, case_name, fds, rss, cpu, f.note);
  // One write() with O_APPEND: the cases run in parallel, and each line lands whole.
  int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  [[maybe_unused]] ssize_t n = ::write(fd, line.data(), line.size());
  ::close(fd);
}

}  // namespace evq::hostile
