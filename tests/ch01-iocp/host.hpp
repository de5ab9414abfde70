// Which host a ch01 test runs on: tests of behaviour that Wine does not reproduce print this and
// assert what the host does.
#pragma once

#include <ostream>  // lets doctest print a std::error_code in a failed CHECK
#include <string>

#include "evq/common/win32.hpp"

namespace evq::iocp::test {

inline bool on_wine() {
  return evq::wine_version().has_value();
}

inline std::string host_name() {
  auto wine = evq::wine_version();
  return wine ? "Wine " + *wine : std::string("Windows");
}

}  // namespace evq::iocp::test
