// A byte-range lock through a completion port: LockFileEx on an overlapped file handle. Without
// LOCKFILE_FAIL_IMMEDIATELY a lock that is held elsewhere does not block the caller: the call
// returns ERROR_IO_PENDING, and the packet arrives when the range is free and the lock is ours.
// The OVERLAPPED's offset is the start of the range, as for ReadFile.
#pragma once

#include "evq/common/win32.hpp"
#include "evq/iocp/overlapped_io.hpp"

#include <cstdint>
#include <string>

namespace evq::iocp {

// LockFileEx(file, LOCKFILE_EXCLUSIVE_LOCK or shared, [offset, offset + length), &overlapped).
Started start_lock_file(HANDLE file, std::uint64_t offset, std::uint64_t length, bool exclusive,
                        OVERLAPPED& overlapped);

// UnlockFileEx of the same range (it must match a lock exactly). Synchronous; throws on failure.
void unlock_file(HANDLE file, std::uint64_t offset, std::uint64_t length);

// A scratch file in %TEMP% (GetTempFileNameW), removed by its owner; and an overlapped handle to
// it that shares reading, writing and deleting with every other handle, so that two handles of one
// process can contend for a lock as two processes would.
std::wstring temp_file_path();
UniqueHandle open_shared_overlapped(const std::wstring& path);

}  // namespace evq::iocp
