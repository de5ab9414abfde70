// Deliberately WRONG solution of lab ch04/line_reader, for `tools/lab prove-labs` only (never in a
// handout): the reference solution with one mistake, which the lab's tests must catch.
// Mistake: a line is whatever one read brings, so a line split over reads comes out in pieces
// Caught by: a-line-longer-than-the-buffer-split

#include "evq/completion/lab/line_reader.hpp"

#include <stdexcept>
#include <system_error>

namespace evq::completion::lab {

LineReader::LineReader(CompletionQueue& queue, NativeSocket sock, std::size_t buffer_size)
    : queue_(queue), sock_(sock), buffer_(buffer_size) {}

// [snippet solution-line-reader]
std::optional<std::string> LineReader::next_line(std::chrono::milliseconds per_read) {
  for (;;) {
    if (auto newline = pending_.find('\n'); newline != std::string::npos) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      return line;
    }
    if (end_of_stream_) {
      if (pending_.empty()) return std::nullopt;
      return std::exchange(pending_, {});  // the last line had no '\n'
    }
    queue_.read(sock_, buffer_, 0);  // lend the buffer for one read
    Completion done[1];
    if (queue_.wait(done, per_read) == 0) {
      queue_.cancel(sock_);  // never leave the buffer lent behind us
      queue_.wait(done, std::chrono::seconds(10));
      throw std::runtime_error("LineReader: no data within the deadline");
    }
    if (done[0].error) throw std::system_error(done[0].error, "LineReader: read");
    if (done[0].bytes == 0) end_of_stream_ = true;
    // The completion is back, so the buffer is ours again: copy out what the read brought.
    pending_.append(reinterpret_cast<const char*>(buffer_.data()), done[0].bytes);
    if (!pending_.empty() && pending_.find('\n') == std::string::npos) return std::exchange(pending_, {});
  }
}
// [/snippet solution-line-reader]

}  // namespace evq::completion::lab
