// The semantics suite's view of evq::port::Port (see port_semantics.hpp for the interface).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "evq/port/blocking_scope.hpp"
#include "evq/port/port.hpp"
#include "host.hpp"

namespace evq::test {

class NativePort {
 public:
  static constexpr const char* kName = "evq::port::Port (native)";
  static Host host() { return {"evq::port (this chapter)", true, true, true}; }

  explicit NativePort(unsigned concurrency) : port_(concurrency) {}

  void post(std::uint64_t key) { REQUIRE(port_.post(key)); }
  void post_failed_io(std::uint64_t key) {
    port::Packet p;
    p.key = key;
    p.error = std::make_error_code(std::errc::connection_reset);
    REQUIRE(port_.post(p));
  }
  Got get(std::optional<std::chrono::milliseconds> timeout) {
    port::GetResult r = port_.get(timeout);
    return {r.status, r.packet.key, r.packet.failed()};
  }
  std::vector<std::uint64_t> get_many(std::size_t max, std::chrono::milliseconds timeout,
                                      port::Wait& status) {
    std::vector<port::Packet> packets(max);
    port::Port::ManyResult r = port_.get_many(packets, timeout);
    status = r.status;
    std::vector<std::uint64_t> keys;
    for (std::size_t i = 0; i < r.count; ++i) keys.push_back(packets[i].key);
    return keys;
  }
  // The kernel sees a thread block; the native port must be told, with a BlockingScope.
  template <typename F>
  void block_elsewhere(F&& blocking_call) {
    port::BlockingScope scope;
    blocking_call();
  }
  void close() { port_.close(); }
  std::optional<unsigned> concurrency() const { return port_.concurrency(); }
  // How many threads are parked: the native port can tell; IOCP cannot.
  std::optional<std::size_t> waiting() const { return port_.counters().waiting; }
  port::Port& raw() { return port_; }

 private:
  port::Port port_;
};

}  // namespace evq::test
