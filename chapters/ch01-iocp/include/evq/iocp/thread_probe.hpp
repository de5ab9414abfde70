// Experiments that show the two thread rules of Microsoft's "I/O Completion Ports" on the running host:
//   - LIFO release: which of several waiting threads does the port release first?
//   - the concurrency value: how many threads does the port let run at once?
// Wine 8 answers both differently from Windows; the tests and the iocp_thread_rules demo use these
// probes and say which host they ran on.
#pragma once

#include <chrono>
#include <vector>

#include "evq/common/win32.hpp"

namespace evq::iocp {

// Parks `waiters` threads in GetQueuedCompletionStatus one after another (0 first, with `grace`
// between them, since no API reports "parked"), then posts one packet at a time; each thread takes one
// packet and exits. Returns the thread ids in the order the port released them.
// Windows documents LIFO: [waiters-1, ..., 1, 0].
std::vector<int> probe_release_order(int waiters, std::chrono::milliseconds grace);

// A port with `concurrency`, `threads` threads parked on it, then `threads` packets posted at once.
// Each released thread stays runnable (spins, never blocks) until all are running or `spin` passes.
// Returns the most threads seen running at once. Windows documents min(concurrency, threads).
int probe_peak_running(DWORD concurrency, int threads, std::chrono::milliseconds grace,
                       std::chrono::milliseconds spin);

}  // namespace evq::iocp
