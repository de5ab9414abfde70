// Lab ch01/write_queue — reference solution.
#include "evq/iocp/lab/write_queue.hpp"

#include <span>
#include <stdexcept>
#include <system_error>

#include "evq/iocp/overlapped_io.hpp"

namespace evq::iocp::lab {

WriteQueue::WriteQueue(SOCKET socket) : socket_(socket) {
  if (socket == INVALID_SOCKET) throw std::invalid_argument("WriteQueue: INVALID_SOCKET");
}

void WriteQueue::write(std::string_view data) {
  if (data.empty()) return;
  // A deque never moves its elements on push_back, so the string being sent (and, for a short string,
  // the bytes stored inside the string object itself) stays where the kernel was told it is.
  chunks_.emplace_back(data);
  queued_ += data.size();
  if (!sending_) start_next();  // never a second WSASend while one is in flight: order would be at risk
}

void WriteQueue::start_next() {
  if (chunks_.empty()) return;
  const std::string& front = chunks_.front();
  overlapped_ = OVERLAPPED{};
  Started s = start_send(
      socket_, std::span<const char>(front.data() + front_sent_, front.size() - front_sent_), overlapped_);
  if (s.state == Started::failed) throw std::system_error(s.error, "WSASend");
  sending_ = true;  // completed at once or pending: either way its packet will come
}

void WriteQueue::on_completion(const GetResult& packet) {
  if (packet.packet.overlapped != &overlapped_ || !sending_)
    throw std::invalid_argument("WriteQueue::on_completion: not this queue's packet");
  sending_ = false;
  if (packet.status == GetStatus::failed) throw std::system_error(packet.error, "WSASend (completion)");
  std::size_t sent = packet.packet.bytes;
  front_sent_ += sent;
  queued_ -= sent;
  if (front_sent_ == chunks_.front().size()) {
    chunks_.pop_front();
    front_sent_ = 0;
  }
  start_next();
}

const OVERLAPPED* WriteQueue::overlapped() const {
  return &overlapped_;
}
std::size_t WriteQueue::queued() const {
  return queued_;
}
bool WriteQueue::sending() const {
  return sending_;
}

}  // namespace evq::iocp::lab
