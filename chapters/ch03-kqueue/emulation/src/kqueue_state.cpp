#include "kqueue_state.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cerrno>
#include <climits>
#include <iterator>
#include <string>

#include "evq/common/error.hpp"
#include "evq/common/timeout.hpp"
#include "timer_spec.hpp"
#include "why.hpp"

namespace evq::kq_emulation {
namespace {

// What an epoll event's 64-bit data names: a watched descriptor, a timer's timerfd, the wake-up
// eventfd, or a vnode knote's inotify descriptor. The tag sits in the high half, the descriptor in
// the low half.
constexpr std::uint64_t kTagFd = 0, kTagTimer = 1, kTagWake = 2, kTagVnode = 3;

// The EVFILT_VNODE notes the emulation can tell apart with inotify.
constexpr unsigned kVnodeNotes =
    NOTE_DELETE | NOTE_WRITE | NOTE_EXTEND | NOTE_ATTRIB | NOTE_LINK | NOTE_RENAME;
std::uint64_t tagged(std::uint64_t tag, int fd) {
  return (tag << 32) | static_cast<std::uint32_t>(fd);
}

// Every watched descriptor is registered once, edge-triggered, for everything: an edge is only a
// hint that makes the matching knotes active; the filter then asks poll(2) what is true now. Edge
// triggering keeps a knote that is disabled or EV_CLEAR from making epoll_wait spin.
constexpr std::uint32_t kFdInterest = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

constexpr unsigned short kActions = EV_ADD | EV_DELETE | EV_ENABLE | EV_DISABLE;
constexpr unsigned short kBehaviour = EV_ONESHOT | EV_CLEAR | EV_DISPATCH | EV_RECEIPT;
constexpr unsigned short kSystemFlags = 0xf000;  // FreeBSD's EV_SYSFLAGS: EV_EOF, EV_ERROR and two more

const char* filter_name(short filter) {
  switch (filter) {
    case EVFILT_READ:
      return "EVFILT_READ";
    case EVFILT_WRITE:
      return "EVFILT_WRITE";
    case EVFILT_AIO:
      return "EVFILT_AIO";
    case EVFILT_VNODE:
      return "EVFILT_VNODE";
    case EVFILT_PROC:
      return "EVFILT_PROC";
    case EVFILT_SIGNAL:
      return "EVFILT_SIGNAL";
    case EVFILT_TIMER:
      return "EVFILT_TIMER";
    case EVFILT_FS:
      return "EVFILT_FS";
    case EVFILT_USER:
      return "EVFILT_USER";
#ifdef EVQ_KQUEUE_DIALECT_MACOS  // the filters only one of the two systems has
    case EVFILT_MACHPORT:
      return "EVFILT_MACHPORT";
    case EVFILT_VM:
      return "EVFILT_VM";
    case EVFILT_EXCEPT:
      return "EVFILT_EXCEPT";
#else
    case EVFILT_PROCDESC:
      return "EVFILT_PROCDESC";
    case EVFILT_LIO:
      return "EVFILT_LIO";
    case EVFILT_SENDFILE:
      return "EVFILT_SENDFILE";
    case EVFILT_EMPTY:
      return "EVFILT_EMPTY";
#endif
    default:
      return "an unknown filter";
  }
}

bool is_fd_filter(short filter) {
  return filter == EVFILT_READ || filter == EVFILT_WRITE;
}

}  // namespace

KqueueState::KqueueState(int epfd) : epfd_(epfd) {
  wake_.reset(check(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd"));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tagged(kTagWake, wake_.get());
  check(::epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_.get(), &ev), "epoll_ctl(ADD, wake eventfd)");
}

KqueueState::~KqueueState() = default;  // timerfds and the eventfd close with their owners

bool KqueueState::still_mine() const {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tagged(kTagWake, wake_.get());
  return ::epoll_ctl(epfd_, EPOLL_CTL_MOD, wake_.get(), &ev) == 0;
}

// ---- the registry -------------------------------------------------------------------------------

int KqueueState::apply(const struct kevent& change) {
  // FreeBSD clears its system flags (EV_EOF, EV_ERROR...) on input, so a returned event can be
  // passed back as a change.
  unsigned short flags = change.flags & ~kSystemFlags;
  if (flags & ~(kActions | kBehaviour)) {
    set_why(
        fmt::format("flags 0x{:x} are not emulated (emulated: EV_ADD EV_DELETE EV_ENABLE "
                    "EV_DISABLE EV_ONESHOT EV_CLEAR EV_DISPATCH EV_RECEIPT)",
                    flags & ~(kActions | kBehaviour)));
    return EINVAL;
  }
  if (change.filter != EVFILT_READ && change.filter != EVFILT_WRITE && change.filter != EVFILT_TIMER &&
      change.filter != EVFILT_USER && change.filter != EVFILT_VNODE) {
    set_why(
        fmt::format("{} ({}) is not emulated: only EVFILT_READ, EVFILT_WRITE, EVFILT_TIMER, "
                    "EVFILT_USER and EVFILT_VNODE are",
                    filter_name(change.filter), change.filter));
    return EINVAL;
  }
  if (change.filter == EVFILT_VNODE && (flags & EV_ADD) && (change.fflags & ~kVnodeNotes)) {
    set_why(
        fmt::format("EVFILT_VNODE fflags 0x{:x} are not emulated (NOTE_REVOKE has no Linux counterpart; "
                    "emulated: NOTE_DELETE NOTE_WRITE NOTE_EXTEND NOTE_ATTRIB NOTE_LINK NOTE_RENAME)",
                    change.fflags & ~kVnodeNotes));
    return EINVAL;
  }
  const bool on_fd = is_fd_filter(change.filter);
  const int fd = change.ident <= INT_MAX ? static_cast<int>(change.ident) : -1;
  if (on_fd) {
    if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) {
      set_why(
          fmt::format("{}: ident {} is not an open descriptor", filter_name(change.filter), change.ident));
      return EBADF;
    }
    // On FreeBSD a kqueue is readable while events are pending (data = how many), so kqueues nest.
    // Here a kqueue is an epoll instance whose pending events live in the emulation's own queue,
    // which no poll() or epoll can see: it would be accepted and never fire. Refuse it instead.
    if (is_epoll(fd)) {
      set_why(
          fmt::format("{}: fd {} is a kqueue (an epoll instance); watching a kqueue from another "
                      "kqueue is not emulated",
                      filter_name(change.filter), fd));
      return EINVAL;
    }
    if (change.fflags & NOTE_LOWAT) {
      set_why("NOTE_LOWAT (a per-filter low-water mark) is not emulated");
      return EINVAL;
    }
  }

  const Key key{change.ident, change.filter};
  auto found = knotes_.find(key);
  Knote* kn = found == knotes_.end() ? nullptr : found->second.get();
  // [snippet apply-stale]
  if (kn && on_fd) {
    // On FreeBSD close() deletes a descriptor's knotes. epoll forgets a closed file too, but we
    // cannot see close(): if epoll no longer knows this descriptor, our knotes for it are stale.
    epoll_event probe{};
    probe.events = kFdInterest;
    probe.data.u64 = tagged(kTagFd, fd);
    if (::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &probe) < 0 && errno == ENOENT) {
      drop_fd(fd);
      kn = nullptr;
    }
  }
  // [/snippet apply-stale]

  // EV_DELETE removes an existing event. (FreeBSD looks for the event first: EV_ADD|EV_DELETE on one
  // that does not exist yet adds it, and the delete is never reached. The emulation does the same.)
  if ((flags & EV_DELETE) && (kn || !(flags & EV_ADD))) {
    if (!kn) {
      set_why(fmt::format("EV_DELETE: ({}, {}) is not registered", change.ident, filter_name(change.filter)));
      return ENOENT;
    }
    remove(kn);
    return 0;
  }
  if (!kn) {
    if (!(flags & EV_ADD)) {
      set_why(fmt::format("({}, {}) is not registered: EV_ENABLE/EV_DISABLE need an EV_ADD first",
                          change.ident, filter_name(change.filter)));
      return ENOENT;
    }
    auto fresh = std::make_unique<Knote>();
    fresh->ident = change.ident;
    fresh->filter = change.filter;
    // Kept as given (without the actions) and reported back with every event, as FreeBSD does.
    // Timers always behave as EV_CLEAR, and FreeBSD sets the flag on them to say so.
    fresh->flags = flags & kBehaviour;
    if (change.filter == EVFILT_TIMER) fresh->flags |= EV_CLEAR;
    int err = change.filter == EVFILT_TIMER   ? arm_timer(change, *fresh)
              : change.filter == EVFILT_VNODE ? arm_vnode(change, *fresh)
              : on_fd                         ? add_fd_knote(change, *fresh)
                                              : 0;
    if (err) return err;
    kn = fresh.get();
    knotes_.emplace(key, std::move(fresh));
  } else if ((flags & EV_ADD) && change.filter == EVFILT_TIMER) {
    // Re-adding a timer restarts it and throws away expirations not yet delivered.
    if (int err = arm_timer(change, *kn)) return err;
  }

  // [snippet apply-modify]
  // Any change that reaches an existing knote replaces its udata (FreeBSD does so unless
  // EV_KEEPUDATA, which the emulation does not offer).
  kn->udata = change.udata;
#ifndef EVQ_KQUEUE_DIALECT_MACOS  // macOS's struct kevent has no ext[]
  for (int i = 0; i < 4; ++i) kn->ext[i] = change.ext[i];
#endif
  if (change.filter == EVFILT_USER)
    apply_user_fflags(change, *kn);
  else
    kn->fflags = change.fflags;
  if (flags & EV_DISABLE) {
    kn->enabled = false;
    dequeue(kn);
  }
  if (flags & EV_ENABLE) kn->enabled = true;
  // Like FreeBSD, run the filter at registration: a condition that already holds is reported.
  if (kn->enabled) {
    struct kevent ignored {};
    bool gone = false;
    if (evaluate(kn, ignored, gone)) activate(kn);
  }
  // [/snippet apply-modify]
  return 0;
}

int KqueueState::add_fd_knote(const struct kevent& change, Knote& kn) {
  const int fd = static_cast<int>(change.ident);
  auto [entry, inserted] = fds_.try_emplace(fd);
  if (inserted) {
    epoll_event ev{};
    ev.events = kFdInterest;
    ev.data.u64 = tagged(kTagFd, fd);
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
      int err = errno;
      fds_.erase(entry);
      set_why(err == EPERM ? fmt::format("fd {}: epoll cannot watch this kind of file (a regular file or a "
                                         "directory?); kqueue's vnode behaviour is not emulated",
                                         fd)
                           : fmt::format("fd {}: epoll_ctl(EPOLL_CTL_ADD) failed", fd));
      return err == EPERM ? EINVAL : err;
    }
  }
  (change.filter == EVFILT_READ ? entry->second.read : entry->second.write) = &kn;
  return 0;
}

int KqueueState::arm_timer(const struct kevent& change, Knote& kn) {
  std::optional<TimerSpec> spec = timer_spec(change);
  if (!spec) return EINVAL;
  // A fresh timerfd each time: the old one's unread expirations go with it.
  if (kn.timer) {
    timers_.erase(kn.timer.get());
    kn.timer.reset();
  }
  UniqueFd timer(::timerfd_create(spec->clock, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timer) {
    int err = errno;
    set_why("timerfd_create failed");
    return err;
  }
  if (::timerfd_settime(timer.get(), spec->settime_flags, &spec->value, nullptr) < 0) {
    int err = errno;
    set_why("timerfd_settime refused the period");
    return err;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = tagged(kTagTimer, timer.get());
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, timer.get(), &ev) < 0) {
    int err = errno;
    set_why("epoll_ctl(EPOLL_CTL_ADD, timerfd) failed");
    return err;
  }
  timers_[timer.get()] = &kn;
  kn.timer = std::move(timer);
  kn.expirations = 0;
  kn.active = false;
  dequeue(&kn);
  return 0;
}

// [snippet arm-vnode]
int KqueueState::arm_vnode(const struct kevent& change, Knote& kn) {
  const int fd = change.ident <= INT_MAX ? static_cast<int>(change.ident) : -1;
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) < 0) {
    set_why(fmt::format("EVFILT_VNODE: ident {} is not an open descriptor", change.ident));
    return EBADF;
  }
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {  // FreeBSD: only a vnode has this filter
    set_why(fmt::format("EVFILT_VNODE: fd {} is not a file or directory", fd));
    return EINVAL;
  }
  // inotify watches a path, not a descriptor; /proc/self/fd/N names the descriptor's file. Watch
  // everything: the filter keeps what the knote asked for (its fflags) when it runs.
  UniqueFd watch(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!watch) {
    int err = errno;
    set_why(
        "EVFILT_VNODE: inotify_init1 failed (too many inotify instances? see fs.inotify.max_user_instances)");
    return err;
  }
  constexpr std::uint32_t kMask = IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF | IN_CREATE |
                                  IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO;
  const std::string path = fmt::format("/proc/self/fd/{}", fd);
  if (::inotify_add_watch(watch.get(), path.c_str(), kMask) < 0) {
    int err = errno;
    set_why(fmt::format("EVFILT_VNODE: inotify_add_watch({}) failed", path));
    return err;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: the filter reads every queued inotify event
  ev.data.u64 = tagged(kTagVnode, watch.get());
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, watch.get(), &ev) < 0) {
    int err = errno;
    set_why("EVFILT_VNODE: epoll_ctl(EPOLL_CTL_ADD, inotify fd) failed");
    return err;
  }
  if (kn.watch) watches_.erase(kn.watch.get());
  kn.watch = std::move(watch);
  watches_[kn.watch.get()] = &kn;
  kn.vnode_size = st.st_size;
  kn.vnode_links = st.st_nlink;
  kn.vnode_directory = S_ISDIR(st.st_mode);
  return 0;
}
// [/snippet arm-vnode]

// [snippet vnode-events]
// Turns what inotify queued into FreeBSD's notes. inotify says *which* entry of a directory changed
// (it has names); kqueue only says *that* it changed, so the names are read and dropped here.
void KqueueState::read_vnode_events(Knote& kn) {
  alignas(inotify_event) char buffer[4096];
  unsigned happened = 0;
  for (;;) {
    ssize_t n = ::read(kn.watch.get(), buffer, sizeof buffer);
    if (n <= 0) break;  // EAGAIN: all read
    for (ssize_t at = 0; at < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buffer + at);
      if (e->mask & IN_MODIFY) happened |= NOTE_WRITE;
      if (e->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)) {
        happened |= NOTE_WRITE;                         // a directory's entries changed
        if (e->mask & IN_ISDIR) happened |= NOTE_LINK;  // a subdirectory's ".." is a link to it
      }
      if (e->mask & IN_ATTRIB) happened |= NOTE_ATTRIB;  // refined below with the link count
      if (e->mask & IN_MOVE_SELF) happened |= NOTE_RENAME;
      if (e->mask & IN_DELETE_SELF) happened |= NOTE_DELETE;
      at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
    }
  }
  struct stat st {};
  if (happened && ::fstat(static_cast<int>(kn.ident), &st) == 0) {
    // unlink and link are "attribute" changes to inotify (the link count); kqueue names them.
    // A directory's count moves with its subdirectories (NOTE_LINK); it is deleted only at 0.
    if (st.st_nlink < kn.vnode_links && (!kn.vnode_directory || st.st_nlink == 0))
      happened |= NOTE_DELETE;
    else if (st.st_nlink != kn.vnode_links)
      happened |= NOTE_LINK;
    if (st.st_nlink != kn.vnode_links) happened &= ~NOTE_ATTRIB;  // that "attribute" was the count
    if (!kn.vnode_directory && st.st_size > kn.vnode_size) happened |= NOTE_EXTEND;
    kn.vnode_size = st.st_size;
    kn.vnode_links = st.st_nlink;
  }
  kn.vnode_happened |= happened & kn.fflags;  // only what the knote asked to hear about
}
// [/snippet vnode-events]

// [snippet user-fflags]
void KqueueState::apply_user_fflags(const struct kevent& change, Knote& kn) {
  const unsigned value = change.fflags & NOTE_FFLAGSMASK;
  switch (change.fflags & NOTE_FFCTRLMASK) {
    case NOTE_FFAND:
      kn.user_fflags &= value;
      break;
    case NOTE_FFOR:
      kn.user_fflags |= value;
      break;
    case NOTE_FFCOPY:
      kn.user_fflags = value;
      break;
    default:
      break;  // NOTE_FFNOP: leave the user flags alone
  }
  kn.user_data = change.data;
  if (change.fflags & NOTE_TRIGGER) kn.triggered = true;
}
// [/snippet user-fflags]

void KqueueState::remove(Knote* kn) {
  dequeue(kn);
  if (is_fd_filter(kn->filter)) {
    const int fd = static_cast<int>(kn->ident);
    if (auto it = fds_.find(fd); it != fds_.end()) {
      (kn->filter == EVFILT_READ ? it->second.read : it->second.write) = nullptr;
      if (!it->second.read && !it->second.write) {
        ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);  // may fail if closed: nothing to undo
        fds_.erase(it);
      }
    }
  }
  if (kn->timer) timers_.erase(kn->timer.get());
  if (kn->watch) watches_.erase(kn->watch.get());
  knotes_.erase(Key{kn->ident, kn->filter});  // destroys kn (and closes its timerfd or inotify fd)
}

void KqueueState::drop_fd(int fd) {
  for (short filter : {short{EVFILT_READ}, short{EVFILT_WRITE}})
    if (auto it = knotes_.find(Key{static_cast<uintptr_t>(fd), filter}); it != knotes_.end())
      remove(it->second.get());
}

// ---- activation and the queue -------------------------------------------------------------------

void KqueueState::activate(Knote* kn) {
  kn->active = true;
  if (kn->enabled) enqueue(kn);
}

void KqueueState::enqueue(Knote* kn) {
  if (kn->queued) return;
  kn->queue_position = queue_.insert(queue_.end(), kn);
  kn->queued = true;
}

void KqueueState::dequeue(Knote* kn) {
  if (!kn->queued) return;
  queue_.erase(kn->queue_position);
  kn->queued = false;
}

// [snippet evaluate]
bool KqueueState::evaluate(Knote* kn, struct kevent& out, bool& gone) {
  gone = false;
  out = {};
  out.ident = kn->ident;
  out.filter = kn->filter;
  out.flags = kn->flags;
  out.udata = kn->udata;
#ifndef EVQ_KQUEUE_DIALECT_MACOS
  for (int i = 0; i < 4; ++i) out.ext[i] = kn->ext[i];
#endif

  switch (kn->filter) {
    case EVFILT_READ:
    case EVFILT_WRITE: {
      const int fd = static_cast<int>(kn->ident);
      const short revents = poll_now(fd);
      if (revents & POLLNVAL) {  // closed behind our back: FreeBSD's close() would have deleted it
        drop_fd(fd);
        gone = true;
        return false;
      }
      FdEntry& entry = fds_[fd];
      const FdKind kind = kind_of(fd);
      if ((revents & POLLERR) && kind != FdKind::pipe && kind != FdKind::other)
        if (int err = socket_error(fd)) entry.so_error = err;  // Linux clears it as we read it
      if (kn->filter == EVFILT_READ) {
        const bool eof = revents & (POLLRDHUP | POLLHUP);
        out.data = read_data(fd, kind, revents);
        if (eof) {
          out.flags |= EV_EOF;
          out.fflags = static_cast<unsigned>(entry.so_error);
        }
        return (revents & (POLLIN | POLLERR)) || eof;
      }
      const bool eof = revents & (POLLHUP | POLLERR);  // reader gone, or the connection failed
      out.data = eof ? 0 : write_data(fd, kind);
      if (eof) {
        out.flags |= EV_EOF;
        out.fflags = static_cast<unsigned>(entry.so_error);
      }
      return (revents & POLLOUT) || eof;
    }
    case EVFILT_TIMER: {
      std::uint64_t expired = 0;
      if (::read(kn->timer.get(), &expired, sizeof expired) == sizeof expired)
        kn->expirations += static_cast<std::int64_t>(expired);
      out.data = kn->expirations;  // expirations since the last delivery
      return kn->expirations > 0;
    }
    case EVFILT_USER:
      out.fflags = kn->user_fflags;
      out.data = kn->user_data;
      return kn->triggered;
    case EVFILT_VNODE:
      if (::fcntl(static_cast<int>(kn->ident), F_GETFD) < 0) {  // closed: FreeBSD would have deleted it
        remove(kn);
        gone = true;
        return false;
      }
      read_vnode_events(*kn);
      out.fflags = kn->vnode_happened;  // what happened since the last delivery, of what was asked
      return kn->vnode_happened != 0;
  }
  return false;
}
// [/snippet evaluate]

// [snippet after-delivery]
void KqueueState::after_delivery(Knote* kn) {
  if (kn->flags & EV_ONESHOT) {  // delivered once, then deleted
    remove(kn);
    return;
  }
  if (kn->filter == EVFILT_TIMER) kn->expirations = 0;  // timers always count from the delivery
  if (kn->filter == EVFILT_USER && (kn->flags & EV_CLEAR)) kn->triggered = false;
  if (kn->filter == EVFILT_VNODE && (kn->flags & (EV_CLEAR | EV_DISPATCH))) kn->vnode_happened = 0;
  if (kn->flags & EV_DISPATCH) {  // delivered, then disabled until EV_ENABLE
    kn->enabled = false;
    kn->active = false;
    return;
  }
  if (kn->flags & EV_CLEAR) {  // state reset: wait for news
    kn->active = false;
    return;
  }
  enqueue(kn);  // level-triggered: reported again for as long as the condition holds
}
// [/snippet after-delivery]

int KqueueState::collect(struct kevent* events, int nevents) {
  int n = 0;
  // Each knote queued now is looked at once: a level-triggered one goes back to the tail.
  for (std::size_t budget = queue_.size(); n < nevents && budget > 0 && !queue_.empty(); --budget) {
    Knote* kn = queue_.front();
    dequeue(kn);
    if (!kn->enabled) continue;
    struct kevent out {};
    bool gone = false;
    if (!evaluate(kn, out, gone)) {
      if (!gone) kn->active = false;  // the condition went away before anyone looked
      continue;
    }
    events[n++] = out;
    after_delivery(kn);
  }
  return n;
}

void KqueueState::absorb(const epoll_event* ready, int n) {
  for (int i = 0; i < n; ++i) {
    const std::uint64_t tag = ready[i].data.u64 >> 32;
    const int fd = static_cast<int>(ready[i].data.u64 & 0xffffffffu);
    const std::uint32_t what = ready[i].events;
    if (tag == kTagFd) {
      auto it = fds_.find(fd);
      if (it == fds_.end()) continue;  // deleted while the event was in flight
      if (it->second.read && (what & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) activate(it->second.read);
      if (it->second.write && (what & (EPOLLOUT | EPOLLHUP | EPOLLERR))) activate(it->second.write);
    } else if (tag == kTagTimer) {
      if (auto it = timers_.find(fd); it != timers_.end()) activate(it->second);
    } else if (tag == kTagVnode) {
      if (auto it = watches_.find(fd); it != watches_.end()) activate(it->second);
    } else if (tag == kTagWake) {
      std::uint64_t count = 0;
      [[maybe_unused]] ssize_t r = ::read(wake_.get(), &count, sizeof count);
    }
  }
}

bool KqueueState::drain_epoll() {
  epoll_event ready[64];
  int n = ::epoll_wait(epfd_, ready, 64, 0);
  if (n < 0) return errno == EINTR;
  absorb(ready, n);
  return true;
}

void KqueueState::wake_other_waiters() {
  if (waiters_ == 0 || queue_.empty()) return;
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wake_.get(), &one, sizeof one);
}

bool KqueueState::adds_new_descriptor(const struct kevent& change) const {
  return (change.flags & EV_ADD) && is_fd_filter(change.filter) && change.ident <= INT_MAX &&
         !fds_.count(static_cast<int>(change.ident));
}

void KqueueState::quiesce(std::unique_lock<std::mutex>& lock) {
  ++quiescing_;
  // Each write to the eventfd wakes (at least) one thread out of epoll_wait; it then waits on
  // quiet_ instead of going back in. Write again until every one has come out.
  while (waiters_ > 0) {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t r = ::write(wake_.get(), &one, sizeof one);
    quiet_.wait_for(lock, std::chrono::milliseconds(1));
  }
}

// ---- kevent(2) ----------------------------------------------------------------------------------

// [snippet kevent]
int KqueueState::kevent(const struct kevent* changes, int nchanges, struct kevent* events, int nevents,
                        const timespec* timeout) {
  std::unique_lock lock(mutex_);
  // 0. Registering a descriptor epoll does not watch yet makes epoll report its present state once
  //    (an initial edge), and apply() reports that state at once too. A thread blocked in epoll_wait
  //    could take the edge and, after another thread delivered the event, activate it again: an
  //    EV_CLEAR event reported twice for one change. So such changes are made with no thread inside
  //    epoll_wait, and their edges are absorbed here, before anyone can collect.
  // 1. Every change first, in order. A failed change, or any change with EV_RECEIPT, takes one
  //    EV_ERROR slot of the eventlist; with no slot left, a failure becomes kevent's own error.
  int answers = 0;
  {  // the registrations that need epoll_wait empty end with this scope
    struct Quiet {
      KqueueState* state = nullptr;
      ~Quiet() {
        if (!state) return;
        const int saved = errno;  // kevent() may be returning -1 with errno set
        state->drain_epoll();
        --state->quiescing_;
        state->quiet_.notify_all();
        errno = saved;
      }
    } quiet;
    for (int i = 0; i < nchanges && !quiet.state; ++i)
      if (adds_new_descriptor(changes[i])) {
        quiesce(lock);
        quiet.state = this;
      }
    for (int i = 0; i < nchanges; ++i) {
      const struct kevent change = changes[i];  // a copy: changelist and eventlist may be one array
      if (change.filter == 0) continue;         // FreeBSD skips such entries without an answer
      const int err = apply(change);
      if (err == 0 && !(change.flags & EV_RECEIPT)) continue;
      if (answers == nevents) {
        if (err == 0) return answers;  // FreeBSD: no room for the receipt, the rest is not applied
        errno = err;
        return -1;
      }
      struct kevent& answer = events[answers++];
      answer = change;
      answer.flags = EV_ERROR;
      answer.data = err;
    }
  }
  wake_other_waiters();  // a NOTE_TRIGGER (or a level event) may be for a thread already waiting
  // 2. Answers to changes are returned on their own, without looking for events (as FreeBSD does).
  if (answers > 0 || nevents == 0) return answers;

  // 3. Collect what is pending; if nothing is, wait in epoll_wait (without the lock, so other
  //    threads can add changes or trigger user events meanwhile) and look again.
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> deadline;
  if (timeout)  // saturating: a timeout of centuries is a long wait, not an overflow into the past
    deadline = evq::deadline_after<Clock>(
        evq::deadline_after<Clock>(Clock::now(), std::chrono::seconds(timeout->tv_sec)),
        std::chrono::nanoseconds(timeout->tv_nsec));
  for (;;) {
    quiet_.wait(lock, [&] { return quiescing_ == 0; });  // a registration needs epoll_wait empty
    if (!drain_epoll()) return -1;
    if (int n = collect(events, nevents); n > 0) {
      wake_other_waiters();  // level-triggered leftovers: let another waiting thread have them
      return n;
    }
    int wait_ms = -1;
    if (deadline) {
      auto left = *deadline - Clock::now();
      if (left <= Clock::duration::zero()) return 0;  // the time limit expired
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
      wait_ms = static_cast<int>(std::min<long long>(ms, INT_MAX));
    }
    epoll_event ready[64];
    ++waiters_;
    lock.unlock();
    const int n = ::epoll_wait(epfd_, ready, 64, wait_ms);
    const int err = errno;
    lock.lock();
    --waiters_;
    if (quiescing_ > 0) quiet_.notify_all();
    if (n < 0) {
      errno = err;  // EINTR included: a signal arrived before any event, as on FreeBSD
      return -1;
    }
    absorb(ready, n);
  }
}
// [/snippet kevent]

}  // namespace evq::kq_emulation
