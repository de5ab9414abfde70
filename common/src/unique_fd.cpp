#include "evq/common/unique_fd.hpp"

#include <unistd.h>

namespace evq {

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}

}  // namespace evq
