// Deliberately WRONG solution of lab ch04/line_reader, for `tools/lab prove-labs` only (never in a
// handout): the reference solution with one mistake, which the lab's tests must catch.
// Mistake: at end of stream the unterminated last line is dropped
// Caught by: end-of-stream-gives-the-unterminated-last

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
      pending_.clear();
      return std::nullopt;
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
  }
}
// [/snippet solution-line-reader]

}  // namespace evq::completion::lab
