// Lab ch01/file_copy: copy a file with overlapped ReadFile and WriteFile through one completion port,
// keeping several operations in flight. (Handout: notes/ch01-iocp.md, "Lab 1: an overlapped file copy".)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace evq::iocp::lab {

struct CopyOptions {
  std::size_t chunk = 64 * 1024;  // bytes per ReadFile / WriteFile
  unsigned in_flight = 4;         // chunks being read or written at the same time
};

// Copies `from` to `to` (created, or truncated if it exists) and returns the bytes copied.
//  - both files are opened with FILE_FLAG_OVERLAPPED and associated with one port;
//  - at most options.in_flight chunks are pending at once, each with its own OVERLAPPED and buffer;
//  - a chunk read at offset X is written at offset X, so chunks may finish in any order;
//  - a failure throws std::system_error naming the call (a missing source: ERROR_FILE_NOT_FOUND), but
//    only after every pending operation has completed: their buffers must outlive them;
//  - chunk == 0 or in_flight == 0 throws std::invalid_argument.
std::uint64_t copy_file(const std::wstring& from, const std::wstring& to, const CopyOptions& options = {});

}  // namespace evq::iocp::lab
