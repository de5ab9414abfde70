// The completion interface over epoll (Linux), using ch02's Poll wrapper.
#pragma once

#include "evq/common/unique_fd.hpp"
#include "evq/completion/readiness_queue.hpp"
#include "evq/epoll/poll.hpp"

namespace evq::completion {

class EpollQueue final : public ReadinessQueue {
 public:
  EpollQueue();
  std::string_view backend() const override { return "epoll"; }

 protected:
  void watch(int fd) override;
  void unwatch(int fd) override;
  void poll(std::vector<Readiness>& out, std::optional<std::chrono::milliseconds> timeout) override;
  void wake() override;

 private:
  evq::epoll::Poll poll_;
  evq::epoll::Events events_{256};
  UniqueFd wakeup_;  // an eventfd: post() from another thread writes it to end a blocked epoll_wait
};

}  // namespace evq::completion
