// Which port the calling thread is associated with (internal).
//
// Microsoft's "I/O Completion Ports": a thread becomes associated with a port on its first get() there, and stays so
// until it exits, calls get() on another port, or the port is closed. The running count of a port
// counts its associated threads that are running, so the association is a thread_local that keeps
// the port's state alive and knows whether this thread is counted in it.
#pragma once

#include <memory>

#include "core.hpp"

namespace evq::port::detail {

struct Association {
  std::shared_ptr<Core> core;  // the port this thread is associated with, if any
  bool running = false;        // whether this thread is counted in core->running
  Parker parker;               // where this thread sleeps when it waits in get()

  // Stop counting this thread in its port; if that lets a waiter run, release it.
  void leave();
  // Thread exit ends the association (and may release a waiter).
  ~Association() { leave(); }
};

// The calling thread's association, created on first use and destroyed when the thread exits.
Association& this_thread_association();

}  // namespace evq::port::detail
