// BlockingScope: "this thread is about to block somewhere else".
//
// The Windows kernel knows when a thread associated with a completion port blocks in another wait
// (a Sleep, a WaitForSingleObject, a page fault): it stops counting that thread as running, so the
// port may release another waiter in its place. User space cannot see that, so evq::port asks to be
// told, around the blocking call:
//
//   {
//     evq::port::BlockingScope blocking;   // running count - 1: a waiter may be released now
//     std::this_thread::sleep_for(...);    // or a blocking read, a lock, a join...
//   }                                      // running count + 1, even above the cap
//
// On leaving the scope the running count can exceed the concurrency value: the brief overshoot that
// Microsoft's "I/O Completion Ports" allows for. The port then releases nobody until enough threads come back to get().
//
// A scope on a thread that is not running for any port (it never called get(), or its port is
// closed) does nothing. Scopes nest; only the outermost one counts.
#pragma once

#include <memory>

namespace evq::port {

namespace detail {
class Core;
}

class BlockingScope {
 public:
  BlockingScope();
  ~BlockingScope();
  BlockingScope(const BlockingScope&) = delete;
  BlockingScope& operator=(const BlockingScope&) = delete;

 private:
  std::shared_ptr<detail::Core> core_;  // the port whose running count this scope lowered, if any
};

}  // namespace evq::port
