// What each case measured, one line per case in a file that `tools/lab test` prints as a table
// after the suite (ctest shows a passing test's output to nobody).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "server_process.hpp"

namespace evq::hostile {

struct Figures {
  std::optional<int> fds_before, fds_after;
  std::optional<std::size_t> peak_rss;  // bytes (VmHWM)
  std::optional<double> cpu_share;      // of one core, over the case's measuring window
  std::string note;
};

// Appends "server<TAB>case<TAB>fds<TAB>peak RSS<TAB>CPU<TAB>note" to $EVQ_HOSTILE_FIGURES, if set.
void record(const ServerSpec& spec, const std::string& case_name, const Figures& figures);

}  // namespace evq::hostile
