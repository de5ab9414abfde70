#include "evq/iocp/directory_watch.hpp"

#include <fmt/core.h>
#include <fmt/xchar.h>

#include <cstring>

#include "started.hpp"

namespace evq::iocp {

using detail::from_bool;

TempDirectory::TempDirectory() {
  wchar_t dir[MAX_PATH + 1];
  if (::GetTempPathW(MAX_PATH + 1, dir) == 0) throw_last_error("GetTempPathW");
  static unsigned next = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    path_ = fmt::format(L"{}evq-dir-{}-{}-{}", dir, ::GetCurrentProcessId(), ::GetTickCount(), next++);
    if (::CreateDirectoryW(path_.c_str(), nullptr)) return;
    if (::GetLastError() != ERROR_ALREADY_EXISTS) throw_last_error("CreateDirectoryW");
  }
  throw std::runtime_error("TempDirectory: no free name after 100 tries");
}

TempDirectory::~TempDirectory() {
  // Only files are ever put here; remove them, then the directory.
  WIN32_FIND_DATAW found;
  HANDLE search = ::FindFirstFileW((path_ + L"\\*").c_str(), &found);
  if (search != INVALID_HANDLE_VALUE) {
    do {
      if (!(found.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) ::DeleteFileW(file(found.cFileName).c_str());
    } while (::FindNextFileW(search, &found));
    ::FindClose(search);
  }
  ::RemoveDirectoryW(path_.c_str());
}

UniqueHandle open_directory(const std::wstring& dir) {
  UniqueHandle h(::CreateFileW(dir.c_str(), FILE_LIST_DIRECTORY,
                               FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING,
                               FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OVERLAPPED, nullptr));
  if (!h) throw_last_error("CreateFileW(directory, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OVERLAPPED)");
  return h;
}

// [snippet read-directory-changes]
Started start_read_directory_changes(HANDLE dir, std::span<std::byte> buffer, OVERLAPPED& overlapped) {
  constexpr DWORD kWhat =
      FILE_NOTIFY_CHANGE_FILE_NAME | FILE_NOTIFY_CHANGE_SIZE | FILE_NOTIFY_CHANGE_LAST_WRITE;
  DWORD bytes = 0;  // for an overlapped call, meaningless: the packet carries the count
  BOOL ok = ::ReadDirectoryChangesW(dir, buffer.data(), static_cast<DWORD>(buffer.size()), /*subtree=*/FALSE,
                                    kWhat, &bytes, &overlapped, nullptr);
  // Unlike ReadFile, an overlapped ReadDirectoryChangesW returns TRUE when the watch is *queued*:
  // nothing has changed yet, and the packet comes with the first change.
  if (ok) return {Started::pending, 0, {}};
  return from_bool(ok, bytes, ::GetLastError());
}
// [/snippet read-directory-changes]

const char* action_name(DWORD action) {
  switch (action) {
    case FILE_ACTION_ADDED:
      return "added";
    case FILE_ACTION_REMOVED:
      return "removed";
    case FILE_ACTION_MODIFIED:
      return "modified";
    case FILE_ACTION_RENAMED_OLD_NAME:
      return "renamed from";
    case FILE_ACTION_RENAMED_NEW_NAME:
      return "renamed to";
  }
  return "?";
}

// [snippet parse-changes]
std::vector<DirectoryChange> parse_changes(std::span<const std::byte> buffer, DWORD bytes) {
  std::vector<DirectoryChange> changes;
  std::size_t at = 0;
  // Each record says how far the next one is (0: the last); the name is FileNameLength *bytes* of
  // UTF-16, not NUL-terminated.
  while (bytes > 0 && at + sizeof(FILE_NOTIFY_INFORMATION) <= bytes) {
    FILE_NOTIFY_INFORMATION record;
    std::memcpy(&record, buffer.data() + at, sizeof record);
    const std::size_t name_at = at + offsetof(FILE_NOTIFY_INFORMATION, FileName);
    if (name_at + record.FileNameLength > bytes) break;  // a torn record: stop, never read past
    std::wstring name(record.FileNameLength / sizeof(wchar_t), L'\0');
    std::memcpy(name.data(), buffer.data() + name_at, record.FileNameLength);
    changes.push_back({record.Action, std::move(name)});
    if (record.NextEntryOffset == 0) break;
    at += record.NextEntryOffset;
  }
  return changes;
}
// [/snippet parse-changes]

}  // namespace evq::iocp
