// kqueue(), kevent() and kqueue_emulation_why(): the C entry points of the emulation.
//
// The descriptor kqueue() returns is an epoll descriptor; a table maps it to its KqueueState.
// The program closes it with close(), which the emulation cannot intercept, so the table checks
// (KqueueState::still_mine) that a descriptor still names the same epoll instance before using it,
// and sweeps out the states of closed kqueues whenever a new kqueue is made.
#include <sys/epoll.h>
#include <sys/event.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <unordered_map>

#include "evq/common/unique_fd.hpp"
#include "kqueue_state.hpp"
#include "why.hpp"

namespace evq::kq_emulation {
namespace {

thread_local std::string last_why;

struct Table {
  std::mutex mutex;
  std::unordered_map<int, std::shared_ptr<KqueueState>> by_fd;
};

Table& table() {
  static Table* t = new Table;  // never destroyed: kevent() may run in threads during exit
  return *t;
}

}  // namespace

void set_why(std::string text) {
  last_why = std::move(text);
}
void clear_why() {
  last_why.clear();
}

}  // namespace evq::kq_emulation

using evq::kq_emulation::KqueueState;
using evq::kq_emulation::table;

extern "C" int kqueue(void) {
  evq::UniqueFd epfd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epfd) return -1;
  std::shared_ptr<KqueueState> state;
  try {
    state = std::make_shared<KqueueState>(epfd.get());
  } catch (const std::system_error& e) {
    errno = e.code().value();
    return -1;
  } catch (const std::bad_alloc&) {
    errno = ENOMEM;
    return -1;
  }
  auto& t = table();
  std::lock_guard lock(t.mutex);
  // Forget kqueues the program has closed since (their timers and eventfd close with them).
  std::erase_if(t.by_fd, [](const auto& entry) { return !entry.second->still_mine(); });
  t.by_fd[epfd.get()] = std::move(state);
  return epfd.release();
}

extern "C" int kevent(int kq, const struct kevent* changelist, int nchanges, struct kevent* eventlist,
                      int nevents, const struct timespec* timeout) {
  evq::kq_emulation::clear_why();
  if (nchanges < 0 || nevents < 0 || (nchanges > 0 && !changelist) || (nevents > 0 && !eventlist)) {
    evq::kq_emulation::set_why("negative counts or a missing array");
    errno = EINVAL;
    return -1;
  }
  if (nevents > 0 && timeout &&
      (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1'000'000'000)) {
    evq::kq_emulation::set_why("the timeout is not a valid timespec");
    errno = EINVAL;
    return -1;
  }
  std::shared_ptr<KqueueState> state;
  {
    auto& t = table();
    std::lock_guard lock(t.mutex);
    auto it = t.by_fd.find(kq);
    if (it != t.by_fd.end() && !it->second->still_mine()) {
      t.by_fd.erase(it);  // closed (and maybe reused): that kqueue is gone
      it = t.by_fd.end();
    }
    if (it == t.by_fd.end()) {
      evq::kq_emulation::set_why("not a kqueue descriptor (of this emulation)");
      errno = EBADF;
      return -1;
    }
    state = it->second;
  }
  try {
    return state->kevent(changelist, nchanges, eventlist, nevents, timeout);
  } catch (const std::bad_alloc&) {
    errno = ENOMEM;
    return -1;
  }
}

extern "C" const char* kqueue_emulation_why(void) {
  return evq::kq_emulation::last_why.c_str();
}
