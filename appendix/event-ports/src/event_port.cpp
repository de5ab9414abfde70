// The event-port emulation (include/port.h) over epoll. Each port is an epoll instance plus:
//   - the associations: fd -> (poll events, user pointer), each registered EPOLLONESHOT, so that
//     the kernel itself disarms an fd when its event is taken (the port's one-shot rule) and only
//     one of several waiting threads can take it;
//   - a queue of user events (port_send) and the alert (port_alert), announced through an eventfd
//     that sits in the same epoll instance.
#include <port.h>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace {

thread_local std::string why;  // event_port_emulation_why()

int refuse(int err, std::string reason) {
  why = std::move(reason);
  errno = err;
  return -1;
}

constexpr std::uint64_t kWakeToken = ~std::uint64_t{0};  // no descriptor has this number

struct Association {
  int events;
  void* user;
};

struct Port {
  int epfd;
  int wake;  // eventfd: readable while user events or an alert wait
  std::mutex mutex;
  std::map<int, Association> fds;
  std::deque<port_event_t> user_events;
  std::optional<port_event_t> alert;
  ~Port() { ::close(wake); }  // the program closes epfd, the port's own descriptor
};

std::mutex registry_mutex;
std::map<int, std::shared_ptr<Port>> registry;

std::shared_ptr<Port> find(int port) {
  std::lock_guard lock(registry_mutex);
  auto it = registry.find(port);
  return it == registry.end() ? nullptr : it->second;
}

std::uint32_t to_epoll(int events) {
  std::uint32_t e = EPOLLONESHOT;
  if (events & (POLLIN | POLLRDNORM)) e |= EPOLLIN;
  if (events & (POLLOUT | POLLWRNORM)) e |= EPOLLOUT;
  if (events & POLLPRI) e |= EPOLLPRI;
  return e;
}

int to_poll(std::uint32_t e) {
  int events = 0;
  if (e & EPOLLIN) events |= POLLIN;
  if (e & EPOLLOUT) events |= POLLOUT;
  if (e & EPOLLPRI) events |= POLLPRI;
  if (e & EPOLLERR) events |= POLLERR;
  if (e & EPOLLHUP) events |= POLLHUP;
  return events;
}

void signal(Port& p) {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(p.wake, &one, sizeof one);
}

void unsignal_if_idle(Port& p) {  // under p.mutex
  if (!p.user_events.empty() || p.alert) return;
  std::uint64_t count;
  [[maybe_unused]] ssize_t r = ::read(p.wake, &count, sizeof count);
}

// [snippet port-take]
// Takes what is ready into list[got..max): the alert (it is not consumed), user events, then fd
// events epoll has reported. Under p.mutex.
unsigned take(Port& p, port_event_t* list, unsigned got, unsigned max, const epoll_event* ready, int n) {
  for (int i = 0; i < n; ++i) {
    if (ready[i].data.u64 == kWakeToken) continue;
    const int fd = static_cast<int>(ready[i].data.u64);
    auto it = p.fds.find(fd);
    if (it == p.fds.end()) continue;  // dissociated while the event was on its way
    if (got < max) {
      list[got++] = port_event_t{to_poll(ready[i].events), PORT_SOURCE_FD, 0, static_cast<uintptr_t>(fd),
                                 it->second.user};
      p.fds.erase(it);  // one-shot: the object is dissociated now (epoll disarmed it already)
    } else {
      // No room: arm it again so that the event is not lost (epoll disarmed it on reporting).
      epoll_event ev{to_epoll(it->second.events), {}};
      ev.data.u64 = static_cast<std::uint64_t>(fd);
      ::epoll_ctl(p.epfd, EPOLL_CTL_MOD, fd, &ev);
    }
  }
  return got;
}
// [/snippet port-take]

unsigned take_queued(Port& p, port_event_t* list, unsigned got, unsigned max) {
  if (p.alert) {
    if (got < max) list[got++] = *p.alert;
    return got;
  }
  while (got < max && !p.user_events.empty()) {
    list[got++] = p.user_events.front();
    p.user_events.pop_front();
  }
  unsignal_if_idle(p);
  return got;
}

}  // namespace

extern "C" {

int port_create(void) {
  int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return refuse(errno, "port_create: epoll_create1 failed");
  int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    int err = errno;
    ::close(epfd);
    return refuse(err, "port_create: eventfd failed");
  }
  epoll_event ev{EPOLLIN, {}};  // level-triggered: every waiter sees a pending alert
  ev.data.u64 = kWakeToken;
  if (::epoll_ctl(epfd, EPOLL_CTL_ADD, wake, &ev) < 0) {
    int err = errno;
    ::close(wake);
    ::close(epfd);
    return refuse(err, "port_create: epoll_ctl(eventfd) failed");
  }
  auto p = std::make_shared<Port>();
  p->epfd = epfd;
  p->wake = wake;
  std::lock_guard lock(registry_mutex);
  registry[epfd] = std::move(p);  // a number reused after close() gets a fresh port
  return epfd;
}

int port_associate(int port, int source, uintptr_t object, int events, void* user) {
  std::shared_ptr<Port> p = find(port);
  if (!p) return refuse(EBADF, "port_associate: not a port made by port_create");
  if (source != PORT_SOURCE_FD)
    return refuse(EINVAL, "port_associate: only PORT_SOURCE_FD is emulated (not AIO, TIMER, MQ or FILE)");
  const int fd = object <= INT32_MAX ? static_cast<int>(object) : -1;
  if (fd < 0 || ::fcntl(fd, F_GETFD) < 0)
    return refuse(EBADF, "port_associate: the object is not an open descriptor");
  if (events & ~(POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM | POLLPRI))
    return refuse(EINVAL, "port_associate: events other than POLLIN, POLLOUT and POLLPRI are not emulated");
  std::lock_guard lock(p->mutex);
  // [snippet port-associate]
  epoll_event ev{to_epoll(events), {}};
  ev.data.u64 = static_cast<std::uint64_t>(fd);
  // A descriptor associated before stays in epoll, disarmed, after its event was taken: MOD it. One
  // never seen (or closed and reopened under the same number) needs ADD.
  if (::epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) {
    if (errno != ENOENT || ::epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
      return refuse(errno == EPERM ? EINVAL : errno,
                    errno == EPERM ? "port_associate: epoll cannot watch this kind of file (a regular file?)"
                                   : "port_associate: epoll_ctl failed");
  }
  p->fds[fd] = Association{events, user};  // a second association replaces the first
  // [/snippet port-associate]
  return 0;
}

int port_dissociate(int port, int source, uintptr_t object) {
  std::shared_ptr<Port> p = find(port);
  if (!p) return refuse(EBADF, "port_dissociate: not a port made by port_create");
  if (source != PORT_SOURCE_FD) return refuse(EINVAL, "port_dissociate: only PORT_SOURCE_FD is emulated");
  std::lock_guard lock(p->mutex);
  auto it = p->fds.find(static_cast<int>(object));
  if (it == p->fds.end()) return refuse(ENOENT, "port_dissociate: the object is not associated");
  p->fds.erase(it);
  ::epoll_ctl(p->epfd, EPOLL_CTL_DEL, static_cast<int>(object), nullptr);  // fails if closed: nothing to undo
  return 0;
}

int port_getn(int port, port_event_t list[], unsigned max, unsigned* nget, const struct timespec* timeout) {
  using Clock = std::chrono::steady_clock;
  std::shared_ptr<Port> p = find(port);
  if (!p) return refuse(EBADF, "port_getn: not a port made by port_create");
  if (!nget || (max > 0 && !list)) return refuse(EFAULT, "port_getn: list and nget must point somewhere");
  if (*nget > max && max > 0) return refuse(EINVAL, "port_getn: *nget is more than max");
  std::optional<Clock::time_point> until;
  if (timeout)
    until = Clock::now() + std::chrono::seconds(timeout->tv_sec) + std::chrono::nanoseconds(timeout->tv_nsec);
  const unsigned want = max == 0 ? 0 : (*nget == 0 ? 1 : *nget);
  unsigned got = 0;
  epoll_event ready[64];
  for (;;) {
    {
      std::lock_guard lock(p->mutex);
      if (max == 0) {  // only count: what is queued, plus the fd events epoll holds now
        int n = ::epoll_wait(p->epfd, ready, 64, 0);
        unsigned armed = 0;
        for (int i = 0; i < n; ++i) {
          if (ready[i].data.u64 == kWakeToken) continue;
          const int fd = static_cast<int>(ready[i].data.u64);
          if (auto it = p->fds.find(fd); it != p->fds.end()) {
            ++armed;
            epoll_event ev{to_epoll(it->second.events), {}};  // looked at, not taken: arm again
            ev.data.u64 = static_cast<std::uint64_t>(fd);
            ::epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, &ev);
          }
        }
        *nget = static_cast<unsigned>(p->user_events.size()) + (p->alert ? 1u : 0u) + armed;
        return 0;
      }
      got = take_queued(*p, list, got, max);
      if (p->alert || got >= want) {
        *nget = got;
        return 0;
      }
    }
    // Wait outside the lock, so that other threads can associate and send meanwhile.
    int ms = -1;
    if (until) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*until - Clock::now()).count();
      ms = left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, INT32_MAX));
    }
    int n = ::epoll_wait(p->epfd, ready, static_cast<int>(std::min(64u, max - got + 1)), ms);
    if (n < 0 && errno != EINTR) return refuse(errno, "port_getn: epoll_wait failed");
    {
      std::lock_guard lock(p->mutex);
      if (n > 0) got = take(*p, list, got, max, ready, n);
      got = take_queued(*p, list, got, max);
      if (p->alert || got >= want) {
        *nget = got;
        return 0;
      }
    }
    if (until && Clock::now() >= *until) {
      *nget = got;
      return refuse(ETIME, "port_getn: the timeout passed with fewer events than asked for");
    }
  }
}

int port_get(int port, port_event_t* pe, const struct timespec* timeout) {
  unsigned nget = 1;
  if (port_getn(port, pe, 1, &nget, timeout) < 0) return -1;
  return 0;
}

int port_send(int port, int events, void* user) {
  std::shared_ptr<Port> p = find(port);
  if (!p) return refuse(EBADF, "port_send: not a port made by port_create");
  std::lock_guard lock(p->mutex);
  p->user_events.push_back(
      port_event_t{events, PORT_SOURCE_USER, 0, static_cast<uintptr_t>(::getpid()), user});
  signal(*p);
  return 0;
}

int port_alert(int port, int flags, int events, void* user) {
  std::shared_ptr<Port> p = find(port);
  if (!p) return refuse(EBADF, "port_alert: not a port made by port_create");
  if (flags != PORT_ALERT_SET && flags != PORT_ALERT_UPDATE)
    return refuse(EINVAL, "port_alert: flags must be PORT_ALERT_SET or PORT_ALERT_UPDATE");
  std::lock_guard lock(p->mutex);
  if (flags == PORT_ALERT_UPDATE && p->alert) return refuse(EBUSY, "port_alert: an alert is already set");
  if (events == 0) {  // clears the alert
    p->alert.reset();
    unsignal_if_idle(*p);
    return 0;
  }
  p->alert = port_event_t{events, PORT_SOURCE_ALERT, 0, static_cast<uintptr_t>(::getpid()), user};
  signal(*p);  // level-triggered in epoll: each waiter that returns lets the next one see it
  return 0;
}

const char* event_port_emulation_why(void) {
  return why.c_str();
}

}  // extern "C"
