#include "evq/iocp/file_lock.hpp"

#include "started.hpp"

namespace evq::iocp {

using detail::from_bool;

// [snippet lock-file]
Started start_lock_file(HANDLE file, std::uint64_t offset, std::uint64_t length, bool exclusive,
                        OVERLAPPED& overlapped) {
  overlapped.Offset = static_cast<DWORD>(offset & 0xFFFFFFFFu);  // where the range starts
  overlapped.OffsetHigh = static_cast<DWORD>(offset >> 32);
  // No LOCKFILE_FAIL_IMMEDIATELY: a range held by another handle makes this pending, not failed.
  BOOL ok =
      ::LockFileEx(file, exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0, 0, static_cast<DWORD>(length & 0xFFFFFFFFu),
                   static_cast<DWORD>(length >> 32), &overlapped);
  return from_bool(ok, 0, ok ? 0 : ::GetLastError());
}
// [/snippet lock-file]

void unlock_file(HANDLE file, std::uint64_t offset, std::uint64_t length) {
  OVERLAPPED at{};
  at.Offset = static_cast<DWORD>(offset & 0xFFFFFFFFu);
  at.OffsetHigh = static_cast<DWORD>(offset >> 32);
  if (!::UnlockFileEx(file, 0, static_cast<DWORD>(length & 0xFFFFFFFFu), static_cast<DWORD>(length >> 32),
                      &at))
    throw_last_error("UnlockFileEx");
}

std::wstring temp_file_path() {
  wchar_t dir[MAX_PATH + 1];
  if (::GetTempPathW(MAX_PATH + 1, dir) == 0) throw_last_error("GetTempPathW");
  wchar_t path[MAX_PATH + 1];
  if (::GetTempFileNameW(dir, L"evq", 0, path) == 0) throw_last_error("GetTempFileNameW");
  return path;
}

UniqueHandle open_shared_overlapped(const std::wstring& path) {
  UniqueHandle h(::CreateFileW(path.c_str(), GENERIC_READ | GENERIC_WRITE,
                               FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING,
                               FILE_FLAG_OVERLAPPED, nullptr));
  if (!h) throw_last_error("CreateFileW(FILE_FLAG_OVERLAPPED, shared)");
  return h;
}

}  // namespace evq::iocp
