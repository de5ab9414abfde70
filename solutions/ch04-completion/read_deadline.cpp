// Lab read_deadline: reference solution.
#include "evq/completion/lab/read_deadline.hpp"

#include <algorithm>
#include <stdexcept>

namespace evq::completion::lab {

// [snippet solution-read-deadline]
DeadlineRead read_with_deadline(CompletionQueue& queue, NativeSocket sock, std::span<std::byte> buffer,
                                std::chrono::milliseconds deadline) {
  constexpr UserData kRead = 1;
  queue.read(sock, buffer, kRead);
  Completion done[1];
  auto until = std::chrono::steady_clock::now() + deadline;
  bool cancelled = false;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0 && !cancelled) {
      queue.cancel(sock);  // the buffer is still lent: ask for it back...
      cancelled = true;    // ...and keep waiting for the read's own completion
    }
    // After the cancel the completion is on its way; the bound only keeps a broken queue from hanging us.
    std::size_t n = queue.wait(
        done, cancelled ? std::chrono::milliseconds(10000) : std::max(left, std::chrono::milliseconds(0)));
    if (n == 1 && done[0].user_data == kRead) return {done[0].bytes, done[0].error};
    if (n == 0 && cancelled) throw std::runtime_error("read_with_deadline: no completion after cancel()");
  }
}
// [/snippet solution-read-deadline]

}  // namespace evq::completion::lab
