// SocketTable: the sockets a backend has attached, and the state it keeps for each.
//
// Every backend needs the same bookkeeping: attach refuses a socket twice, an operation on a socket
// that was never attached is a clear error rather than a crash, detach forgets the socket. The
// completion backends (io_uring, IOCP) need one thing more: the kernel may still hold an operation
// of a detached socket, and that operation's completion points at the socket's state. So a detached
// state with work in flight is retired rather than destroyed, and freed when its work ends.
#pragma once

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/core.h>

#include "evq/completion/socket.hpp"

namespace evq::completion {

template <typename State>
class SocketTable {
 public:
  // Registers `sock` with a fresh State after `register_with_os()` succeeds; throws
  // std::invalid_argument if `sock` is attached already.
  template <typename Register>
  State& add(NativeSocket sock, std::string_view backend, Register register_with_os) {
    if (states_.contains(sock))
      throw std::invalid_argument(
          fmt::format("attach({} {}): already attached to this {} queue", kHandle, sock, backend));
    register_with_os();
    return *(states_[sock] = std::make_unique<State>());
  }

  // The state of an attached socket, or nullptr.
  State* find(NativeSocket sock) {
    auto it = states_.find(sock);
    return it == states_.end() ? nullptr : it->second.get();
  }

  // The state of an attached socket, for the operation `call`; throws std::invalid_argument if the
  // socket was never attached.
  State& get(NativeSocket sock, std::string_view call, std::string_view backend) {
    if (State* s = find(sock)) return *s;
    throw std::invalid_argument(
        fmt::format("{}({} {}): the socket is not attached to this {} queue (call attach first)", call,
                    kHandle, sock, backend));
  }

  // Forgets `sock`; returns its state (nullptr if it was not attached).
  std::unique_ptr<State> remove(NativeSocket sock) {
    auto node = states_.extract(sock);
    return node ? std::move(node.mapped()) : nullptr;
  }

  // The attached sockets (for a destructor that cancels everything).
  std::vector<NativeSocket> sockets() const {
    std::vector<NativeSocket> all;
    for (const auto& entry : states_) all.push_back(entry.first);
    return all;
  }

  // Keeps a removed state while State::idle() is false: the kernel still holds its operations.
  void retire(std::unique_ptr<State> state) {
    if (state && !state->idle()) retired_.push_back(std::move(state));
  }
  // Called when an operation of `state` ends: frees it if it was retired and has nothing left.
  void release_if_done(const State& state) {
    if (!retired_.empty() && state.idle())
      std::erase_if(retired_, [&](const std::unique_ptr<State>& r) { return r.get() == &state; });
  }

 private:
#ifdef _WIN32
  static constexpr std::string_view kHandle = "socket";
#else
  static constexpr std::string_view kHandle = "fd";
#endif
  std::unordered_map<NativeSocket, std::unique_ptr<State>> states_;
  std::vector<std::unique_ptr<State>> retired_;
};

}  // namespace evq::completion
