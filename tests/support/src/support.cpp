#include "evq/test/support.hpp"

#ifndef _WIN32
#include <dirent.h>

#include "evq/common/error.hpp"

namespace evq::test {

int open_fd_count() {
#ifdef __linux__
  const char* dir_name = "/proc/self/fd";
#else
  const char* dir_name = "/dev/fd";
#endif
  DIR* dir = ::opendir(dir_name);
  if (!dir) throw_errno("opendir(/proc/self/fd)");
  int count = 0;
  while (dirent* entry = ::readdir(dir))
    if (entry->d_name[0] != '.') ++count;
  ::closedir(dir);
  return count - 1;  // the directory stream's own descriptor
}

}  // namespace evq::test
#endif
