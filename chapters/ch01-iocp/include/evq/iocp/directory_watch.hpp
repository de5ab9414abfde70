// Directory changes through a completion port: ReadDirectoryChangesW on a directory handle opened
// with FILE_FLAG_OVERLAPPED. Each completion carries *what* changed: a chain of
// FILE_NOTIFY_INFORMATION records, each an action (added, removed, renamed from, renamed to,
// modified) and the file's name relative to the directory. One call reports one batch; the next
// batch needs the next call (changes in between are buffered by the system, up to a point).
//
// When more changed than the buffer holds, the call still completes, with 0 bytes: the records are
// lost and the program must rescan the directory (Windows reports ERROR_NOTIFY_ENUM_DIR with it).
#pragma once

#include "evq/common/win32.hpp"
#include "evq/iocp/overlapped_io.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace evq::iocp {

// A fresh, empty directory in %TEMP%, removed with its contents by the destructor.
class TempDirectory {
 public:
  TempDirectory();
  ~TempDirectory();
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;
  const std::wstring& path() const { return path_; }
  std::wstring file(const std::wstring& name) const { return path_ + L"\\" + name; }

 private:
  std::wstring path_;
};

// CreateFileW(dir, FILE_LIST_DIRECTORY, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OVERLAPPED): the
// handle ReadDirectoryChangesW needs (BACKUP_SEMANTICS is what lets CreateFileW open a directory).
UniqueHandle open_directory(const std::wstring& dir);

// ReadDirectoryChangesW(dir, buffer, no subtree, names/sizes/writes, &overlapped). `buffer` must be
// DWORD-aligned; it is lent to the kernel with the OVERLAPPED.
Started start_read_directory_changes(HANDLE dir, std::span<std::byte> buffer, OVERLAPPED& overlapped);

struct DirectoryChange {
  DWORD action;       // FILE_ACTION_ADDED, _REMOVED, _MODIFIED, _RENAMED_OLD_NAME, _RENAMED_NEW_NAME
  std::wstring name;  // relative to the watched directory
};
const char* action_name(DWORD action);

// The records of a completion of `bytes` bytes (0: the buffer overflowed, nothing to parse).
std::vector<DirectoryChange> parse_changes(std::span<const std::byte> buffer, DWORD bytes);

}  // namespace evq::iocp
