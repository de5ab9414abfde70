// The completion interface over kqueue, using ch03's Kqueue wrapper: FreeBSD, macOS and the other
// BSDs natively; on Linux, ch03's kqueue EMULATION over epoll (a teaching aid, see notes/ch03-kqueue.md).
//
// The same ReadinessQueue core as epoll: only the four hooks differ. Each socket gets EVFILT_READ and
// EVFILT_WRITE with EV_CLEAR (kqueue's edge-triggered mode), and post() triggers an EVFILT_USER event.
#pragma once

#include <sys/types.h>
#include <sys/event.h>

#include <vector>

#include "evq/completion/readiness_queue.hpp"
#include "evq/kq/kqueue.hpp"

namespace evq::completion {

class KqueueQueue final : public ReadinessQueue {
 public:
  KqueueQueue();
  std::string_view backend() const override { return "kqueue"; }

 protected:
  void watch(int fd) override;
  void unwatch(int fd) override;
  void poll(std::vector<Readiness>& out, std::optional<std::chrono::milliseconds> timeout) override;
  void wake() override;

 private:
  evq::kq::Kqueue kq_;
  std::vector<struct kevent> events_ = std::vector<struct kevent>(256);
};

}  // namespace evq::completion
