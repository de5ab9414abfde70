// A tiny, honest wrapper over epoll(7): a Poll that owns the epoll instance, a Registry that adds,
// modifies and removes interest in file descriptors, and Events, the buffer a wait fills.
//
// It hides nothing of epoll's semantics: interest sets are the raw EPOLL* bits (EPOLLIN, EPOLLET,
// EPOLLONESHOT, ...) and a token is the 64-bit user data epoll hands back with each event. What it
// adds is RAII for the epoll fd, errors that name the call, and readable names for event bits.
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "evq/common/unique_fd.hpp"

namespace evq::epoll {

// What the program gets back with an event: usually an index or a pointer of its own.
using Token = std::uint64_t;

// One readiness event: which registration (token) and what it is ready for (EPOLL* bits).
struct Event {
  Token token = 0;
  std::uint32_t flags = 0;

  bool readable() const { return flags & (EPOLLIN | EPOLLPRI); }
  bool writable() const { return flags & EPOLLOUT; }
  bool error() const { return flags & EPOLLERR; }
  bool hangup() const { return flags & EPOLLHUP; }         // both directions are closed
  bool read_closed() const { return flags & EPOLLRDHUP; }  // the peer sent FIN (half-close)
};

// "EPOLLIN|EPOLLOUT|EPOLLET": for narration and test messages.
std::string describe(std::uint32_t flags);

// The buffer one wait fills: epoll_wait writes at most capacity() events into it.
class Events {
 public:
  explicit Events(std::size_t capacity) : raw_(capacity) {}

  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  std::size_t capacity() const { return raw_.size(); }
  Event operator[](std::size_t i) const { return {raw_[i].data.u64, raw_[i].events}; }

  class iterator {
   public:
    // An input iterator, so a batch can be copied: std::vector<Event>(events.begin(), events.end()).
    using iterator_category = std::input_iterator_tag;
    using value_type = Event;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Event;

    iterator(const Events* events, std::size_t i) : events_(events), i_(i) {}
    Event operator*() const { return (*events_)[i_]; }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++i_;
      return old;
    }
    bool operator==(const iterator&) const = default;

   private:
    const Events* events_;
    std::size_t i_;
  };
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, count_}; }

 private:
  friend class Poll;
  std::vector<epoll_event> raw_;
  std::size_t count_ = 0;
};

// Adds, changes and removes what an epoll instance watches. Obtained from Poll::registry(); it can
// be used from any thread while another thread waits (epoll_ctl is thread-safe).
class Registry {
 public:
  // epoll_ctl(EPOLL_CTL_ADD): watch `fd` for `interest`, reporting `token`.
  void add(int fd, Token token, std::uint32_t interest) const;
  // epoll_ctl(EPOLL_CTL_MOD): replace the interest and token; also re-arms an EPOLLONESHOT entry.
  void modify(int fd, Token token, std::uint32_t interest) const;
  // epoll_ctl(EPOLL_CTL_DEL): stop watching `fd`.
  void remove(int fd) const;

  int epoll_fd() const { return epfd_; }

 private:
  friend class Poll;
  explicit Registry(int epfd) : epfd_(epfd) {}
  int epfd_;
};

class Poll {
 public:
  // epoll_create1(EPOLL_CLOEXEC).
  Poll();

  const Registry& registry() const { return registry_; }
  int fd() const { return epfd_.get(); }

  // epoll_wait: blocks until at least one event, or `timeout` passes (nullopt waits for ever,
  // 0ms only looks). Fills `events` and returns how many arrived; 0 on timeout or on EINTR.
  std::size_t wait(Events& events, std::optional<std::chrono::milliseconds> timeout);

 private:
  UniqueFd epfd_;
  Registry registry_;
};

}  // namespace evq::epoll
