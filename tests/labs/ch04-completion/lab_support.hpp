// What the ch04 lab tests share: every usable backend by name, and a loopback pair.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "evq/common/net.hpp"
#include "evq/completion/backends.hpp"

namespace evq::completion::labtest {

// The backends a lab test runs on: every one this machine can run.
inline std::vector<std::string> usable_backends() {
  std::vector<std::string> names;
  for (const BackendInfo& b : backends())
    if (b.usable) names.push_back(b.name);
  REQUIRE_MESSAGE(!names.empty(), "no completion backend is usable here");
  return names;
}

// A loopback pair whose client side has a 10 s receive timeout, so no test can hang on it.
inline evq::TcpPair pair() {
  evq::TcpPair p = evq::tcp_pair();
  evq::set_receive_timeout(p.client.get(), 10'000);
  return p;
}

inline std::span<std::byte> bytes_of(std::string& s) {
  return std::as_writable_bytes(std::span(s));
}

}  // namespace evq::completion::labtest
