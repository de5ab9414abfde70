// RAII for a POSIX file descriptor: the only place in the project that calls close().
#pragma once

#include <utility>

namespace evq {

class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

  // Gives up ownership without closing.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

  // Closes the fd held (if any) and takes `fd`. close() errors are ignored on purpose: on Linux the
  // descriptor is gone even when close() reports EINTR or EIO, so retrying would close someone else's.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

}  // namespace evq
