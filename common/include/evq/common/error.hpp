// System errors as exceptions that name the call that failed.
//
// Chapter code never juggles errno: a failing call becomes a std::system_error whose what() reads
// "epoll_ctl(EPOLL_CTL_ADD, fd 7): Bad file descriptor", and whose code() is the errno value in
// std::system_category(), so a caller can still test `e.code() == std::errc::bad_file_descriptor`.
#pragma once

#include <cerrno>
#include <string_view>
#include <system_error>

namespace evq {

// Throws std::system_error(err, system_category, call). `call` should read like the call itself.
[[noreturn]] void throw_errno(std::string_view call, int err);

// The same with the current errno.
[[noreturn]] inline void throw_errno(std::string_view call) {
  throw_errno(call, errno);
}

// For the POSIX convention "returns -1 and sets errno": passes a good result through, so it reads
// inline:  int fd = evq::check(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1");
template <typename T>
T check(T result, std::string_view call) {
  if (result < 0) throw_errno(call);
  return result;
}

// errno as a std::error_code, for completions that carry an error instead of throwing.
inline std::error_code errno_code(int err) {
  return {err, std::system_category()};
}

}  // namespace evq
