#include "evq/common/error.hpp"

#include <string>

namespace evq {

void throw_errno(std::string_view call, int err) {
  throw std::system_error(err, std::system_category(), std::string(call));
}

}  // namespace evq
