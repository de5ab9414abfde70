// The ch04 backends this machine can run right now, by name: the socket tests loop over them.
#pragma once

#include <string>
#include <vector>

#include "evq/completion/backends.hpp"

namespace evq::test {

inline std::vector<std::string> usable_backends() {
  std::vector<std::string> names;
  for (const auto& b : evq::completion::backends())
    if (b.usable) names.push_back(b.name);
  return names;
}

}  // namespace evq::test
