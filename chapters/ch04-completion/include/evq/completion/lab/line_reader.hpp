// Lab "line_reader": messages out of completions.
//
// A read completion carries bytes, not messages: one line may arrive in three reads, three lines in
// one. LineReader lends its buffer for one read at a time and cuts what arrives into lines.
//
// Student file: exercises/ch04-completion/line_reader.cpp. Tests: tests/labs/ch04-completion/.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "evq/completion/queue.hpp"

namespace evq::completion::lab {

class LineReader {
 public:
  // `sock` is attached to `queue`; the reader is the only one using the queue.
  LineReader(CompletionQueue& queue, NativeSocket sock, std::size_t buffer_size = 4096);

  // The next line, without its '\n'. Reads through the queue (one read lent at a time) as often as
  // needed. At end of stream: a last line that has no '\n' comes out first, then std::nullopt.
  // A read that fails throws std::system_error with its error code. A read that does not complete
  // within `per_read` throws std::runtime_error (after cancelling it and reaping its completion).
  std::optional<std::string> next_line(std::chrono::milliseconds per_read = std::chrono::seconds(10));

 private:
  CompletionQueue& queue_;
  NativeSocket sock_;
  std::vector<std::byte> buffer_;  // lent to the queue during each read
  std::string pending_;            // bytes received and not yet returned as a line
  bool end_of_stream_ = false;
};

}  // namespace evq::completion::lab
