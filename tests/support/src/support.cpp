#include "evq/test/support.hpp"

#ifndef _WIN32
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "evq/common/error.hpp"

namespace evq::test {

int open_fd_count() {
#ifdef __linux__
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) throw_errno("opendir(/proc/self/fd)");
  int count = 0;
  while (dirent* entry = ::readdir(dir))
    if (entry->d_name[0] != '.') ++count;
  ::closedir(dir);
  return count - 1;  // the directory stream's own descriptor
#else
  // macOS and the BSDs: /dev/fd shows only 0-2 on a FreeBSD without fdescfs, which would make every
  // leak check pass vacuously. Ask each descriptor number instead (fcntl(F_GETFD) fails with EBADF
  // on a closed one), up to the process limit.
  long limit = ::sysconf(_SC_OPEN_MAX);
  if (limit < 0 || limit > 65536) limit = 65536;
  int count = 0;
  for (int fd = 0; fd < limit; ++fd)
    if (::fcntl(fd, F_GETFD) != -1) ++count;
  return count;
#endif
}

}  // namespace evq::test
#endif
