// One emulated kqueue: the registry of knotes keyed by (ident, filter), the queue of active knotes,
// and the Linux objects underneath (an epoll instance, a timerfd per timer, an inotify descriptor
// per EVFILT_VNODE, one eventfd to wake a waiting thread). The kqueue descriptor the program holds IS the epoll descriptor; this object does
// not own it (the program close()s it), and kevent.cpp notices when that has happened.
//
// The model is FreeBSD's: a knote becomes *active* when something happens to its source (here: epoll
// reports an edge, a timer expires, NOTE_TRIGGER); active and enabled knotes wait on a FIFO queue;
// when kevent() collects, it runs the filter again, drops knotes whose condition no longer holds, and
// after delivery applies EV_ONESHOT (delete), EV_DISPATCH (disable), EV_CLEAR (reset), or keeps a
// level-triggered knote on the queue.
#pragma once

#include <sys/epoll.h>
#include <sys/event.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <utility>

#include "evq/common/unique_fd.hpp"
#include "fd_probe.hpp"

namespace evq::kq_emulation {

struct Knote {
  uintptr_t ident = 0;
  short filter = 0;
  unsigned short flags = 0;  // EV_ONESHOT, EV_CLEAR, EV_DISPATCH, EV_RECEIPT as first added
  unsigned fflags = 0;       // as last registered (FreeBSD's kn_sfflags; not reported back)
  void* udata = nullptr;
  std::uint64_t ext[4] = {};
  bool enabled = true;
  bool active = false;
  bool queued = false;
  std::list<Knote*>::iterator queue_position;
  // EVFILT_TIMER
  UniqueFd timer;
  std::int64_t expirations = 0;
  // EVFILT_VNODE: an inotify descriptor watching the file, what happened since the last delivery
  // (NOTE_* bits), and the size and link count last seen, to tell NOTE_EXTEND and NOTE_LINK apart.
  UniqueFd watch;
  unsigned vnode_happened = 0;
  std::int64_t vnode_size = 0;
  std::uint64_t vnode_links = 0;
  bool vnode_directory = false;
  // EVFILT_USER
  bool triggered = false;
  unsigned user_fflags = 0;
  std::int64_t user_data = 0;
};

class KqueueState {
 public:
  // Takes the new epoll descriptor (not owned) and makes the wake-up eventfd. Throws on failure.
  explicit KqueueState(int epfd);
  KqueueState(const KqueueState&) = delete;
  KqueueState& operator=(const KqueueState&) = delete;
  ~KqueueState();

  // Is `epfd` still our epoll instance? False once the program closed it (and perhaps the number
  // was reused): our eventfd is then no longer registered in whatever the number names now.
  bool still_mine() const;

  // kevent(2). Returns the count or -1 with errno set.
  int kevent(const struct kevent* changes, int nchanges, struct kevent* events, int nevents,
             const timespec* timeout);

 private:
  using Key = std::pair<uintptr_t, short>;
  struct FdEntry {
    Knote* read = nullptr;
    Knote* write = nullptr;
    int so_error = 0;  // read once from SO_ERROR (which clears it on Linux), then kept
  };

  int apply(const struct kevent& change);  // one change; returns 0 or an errno
  int add_fd_knote(const struct kevent& change, Knote& kn);
  int arm_timer(const struct kevent& change, Knote& kn);
  int arm_vnode(const struct kevent& change, Knote& kn);
  void read_vnode_events(Knote& kn);
  void apply_user_fflags(const struct kevent& change, Knote& kn);
  void remove(Knote* kn);
  void drop_fd(int fd);

  void activate(Knote* kn);
  void enqueue(Knote* kn);
  void dequeue(Knote* kn);
  // Runs the filter: true if the event should be reported now, with `out` filled in.
  // May delete `kn` (a descriptor closed behind our back); `gone` says so.
  bool evaluate(Knote* kn, struct kevent& out, bool& gone);
  void after_delivery(Knote* kn);
  int collect(struct kevent* events, int nevents);
  void absorb(const epoll_event* ready, int n);
  bool drain_epoll();  // non-blocking look at epoll; false on an epoll error (errno set)
  void wake_other_waiters();
  // Whether `change` registers a descriptor that epoll does not watch yet (see kevent()).
  bool adds_new_descriptor(const struct kevent& change) const;
  // Returns with no thread inside epoll_wait, and none entering it until quiescing_ drops to 0.
  void quiesce(std::unique_lock<std::mutex>& lock);

  std::mutex mutex_;
  std::condition_variable quiet_;  // waiters_ fell, or quiescing_ did
  int epfd_;
  UniqueFd wake_;  // eventfd, level-triggered in epoll: wakes a thread blocked in epoll_wait
  std::map<Key, std::unique_ptr<Knote>> knotes_;
  std::map<int, FdEntry> fds_;     // descriptors registered in epoll
  std::map<int, Knote*> timers_;   // timerfd -> its knote
  std::map<int, Knote*> watches_;  // inotify descriptor -> its EVFILT_VNODE knote
  std::list<Knote*> queue_;        // active, enabled knotes in FIFO order
  int waiters_ = 0;                // threads blocked in epoll_wait
  int quiescing_ = 0;              // threads that need epoll_wait empty (see kevent())
};

}  // namespace evq::kq_emulation
