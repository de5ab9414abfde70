// What a host implementation of the completion-port rules does, where hosts differ.
//
// Microsoft's "I/O Completion Ports" ([MS-IOCP], notes/references.md) is the specification. This chapter's port follows it; Windows follows it; Wine 8
// (measured) releases waiting threads FIFO and does not enforce the concurrency value. The suite
// asserts what the host in front of it does, and says so with MESSAGE: it never skips silently.
#pragma once

#include <cstdint>
#include <string>

#include "evq/port/packet.hpp"

namespace evq::test {

struct Host {
  std::string name;
  bool lifo_release = true;            // the most recent waiter is released first
  bool enforces_concurrency = true;    // no waiter is released while the cap is reached
  bool close_releases_waiters = true;  // closing the port wakes threads blocked in get()
};

// One get()'s outcome, as both implementations can report it.
struct Got {
  port::Wait status = port::Wait::timeout;
  std::uint64_t key = 0;
  bool io_failed = false;
};

}  // namespace evq::test
