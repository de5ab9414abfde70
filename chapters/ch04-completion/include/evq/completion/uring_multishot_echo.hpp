// An echo server straight on io_uring, in the mode where *the kernel lends you a buffer*.
//
// Everything else in this chapter keeps the lending contract of queue.hpp: you lend the kernel a
// buffer with each read, and it is yours again at the completion. io_uring can also run the other
// way round, and that is how its fastest servers are written:
//  - a *provided buffer ring*: the program gives the kernel a pool of buffers once; a receive takes
//    whichever buffer is free when data arrives, and its completion says which one (a buffer id);
//  - *multishot* accept and receive: one request, armed once, produces a completion for every
//    connection or every arrival, until it ends (a completion without IORING_CQE_F_MORE);
//  - one io_uring_enter per turn of the loop submits every send and re-arm of that turn and reaps
//    every completion.
// A connection never owns a buffer here: it holds the pool's buffers between their receive and the
// end of their echo, and returns them to the ring. A peer that does not read would then hold the
// pool hostage, so a connection may hold at most `max_held` of them. At the cap its receive is
// cancelled; what the kernel still delivers before the cancel lands (one burst: at most what the
// socket's receive buffer held) is copied out of the pool at once, so the pool is never held beyond
// the cap; receiving starts again once the copies are sent and half the held buffers have gone out.
//
// Linux 6.0 or later (multishot receive), through liburing. notes/ch04-completion.md, "Two ways to
// lend a buffer", compares it with the lent-buffer backend.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "evq/common/accept_pause.hpp"
#include "evq/common/unique_fd.hpp"
#include "evq/completion/echo_server.hpp"

namespace evq::completion {

class UringMultishotEcho {
 public:
  struct Options {
    unsigned buffers = 1024;         // in the provided ring: a power of two
    std::size_t buffer_size = 4096;  // each
    unsigned max_held = 8;           // buffers one connection may hold before it stops receiving
  };
  using Stats = EchoServer::Stats;

  // `listener`: a listening socket the caller owns. Throws std::system_error when the kernel
  // refuses (see unavailable_reason()).
  explicit UringMultishotEcho(int listener, Options options);
  explicit UringMultishotEcho(int listener) : UringMultishotEcho(listener, Options{}) {}
  ~UringMultishotEcho();
  UringMultishotEcho(const UringMultishotEcho&) = delete;
  UringMultishotEcho& operator=(const UringMultishotEcho&) = delete;

  // Why this kernel cannot run it (older than 6.0, io_uring disabled), or "" when it can.
  static std::string unavailable_reason();

  void run();   // serves until stop(); the thread that calls it becomes the ring's one submitter
  void stop();  // from any thread: run() closes every connection and returns

  const Stats& stats() const { return stats_; }
  std::size_t open_connections() const { return connections_.size(); }

 private:
  struct Chunk {
    int buffer;                   // the pool's buffer id, or -1: the bytes are in `copy`
    std::vector<std::byte> copy;  // a burst that came past the cap, moved out of the pool
    std::uint32_t length, sent;
  };
  struct Connection {
    UniqueFd fd;
    std::deque<Chunk> out;   // received, not yet echoed, in order
    unsigned held = 0;       // of those, the pool's buffers (the rest are copies)
    bool receiving = false;  // a multishot receive is armed
    bool sending = false;    // a send is in the kernel
    bool ended = false;      // end of stream, an error, or stop(): no more receives
    bool paused = false;     // receiving cancelled at the cap, armed again at half
    bool starved = false;    // the receive ended for want of a free buffer
    unsigned cancels = 0;    // cancel requests whose completion has not come yet
  };

  io_uring_sqe* sqe();
  void enable();
  void arm_accept();
  void arm_receive(Connection& c);
  void send_next(Connection& c);
  void give_back(std::uint16_t buffer);
  void feed_starved();
  void cancel(Connection& c, std::uint64_t what);
  void on_accept(const io_uring_cqe& cqe);
  void on_receive(Connection& c, const io_uring_cqe& cqe);
  void on_send(Connection& c, const io_uring_cqe& cqe);
  bool drained_enough(const Connection& c) const;
  void drop_output(Connection& c);
  void close_if_done(Connection& c);
  void begin_stop();

  int listener_;
  Options options_;
  io_uring ring_{};
  bool enabled_ = false;
  io_uring_buf_ring* buffer_ring_ = nullptr;  // shared with the kernel: the free buffers' ids
  std::size_t buffer_ring_bytes_ = 0;
  std::vector<std::byte> pool_;  // options_.buffers x options_.buffer_size
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> starved_;  // their receive ended for want of a buffer
  std::size_t free_buffers_ = 0;      // in the ring, as far as this side knows
  UniqueFd wake_;                     // eventfd: stop() writes it, a read on the ring wakes run()
  std::uint64_t wake_value_ = 0;
  bool accepting_ = false;  // the multishot accept is armed
  bool stopping_ = false;
  AcceptPause pause_;
  Stats stats_;
};

}  // namespace evq::completion
