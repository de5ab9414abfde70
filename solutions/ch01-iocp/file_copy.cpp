// Lab ch01/file_copy — reference solution.
#include "evq/iocp/lab/file_copy.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <span>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "evq/common/win32.hpp"
#include "evq/iocp/completion_port.hpp"
#include "evq/iocp/overlapped_io.hpp"

namespace evq::iocp::lab {
namespace {

constexpr ULONG_PTR kReadKey = 1;   // packets from the source file
constexpr ULONG_PTR kWriteKey = 2;  // packets from the destination file

// One chunk in flight: it is an OVERLAPPED, so a packet's pointer converts back to it.
struct Chunk : OVERLAPPED {
  std::vector<char> buffer;
  std::uint64_t offset = 0;
  DWORD length = 0;  // bytes read, to be written
};

UniqueHandle open_file(const std::wstring& path, DWORD access, DWORD disposition, const char* what) {
  UniqueHandle file(::CreateFileW(path.c_str(), access, FILE_SHARE_READ, nullptr, disposition,
                                  FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OVERLAPPED, nullptr));
  if (!file) throw_last_error(fmt::format("CreateFileW({}, FILE_FLAG_OVERLAPPED)", what));
  return file;
}

}  // namespace

std::uint64_t copy_file(const std::wstring& from, const std::wstring& to, const CopyOptions& options) {
  if (options.chunk == 0 || options.in_flight == 0)
    throw std::invalid_argument("copy_file: chunk and in_flight must both be at least 1");
  if (options.chunk > (1u << 30)) throw std::invalid_argument("copy_file: chunk is larger than 1 GiB");

  UniqueHandle source = open_file(from, GENERIC_READ, OPEN_EXISTING, "source");
  LARGE_INTEGER size{};
  if (!::GetFileSizeEx(source.get(), &size)) throw_last_error("GetFileSizeEx(source)");
  UniqueHandle target = open_file(to, GENERIC_WRITE, CREATE_ALWAYS, "destination");
  const auto total = static_cast<std::uint64_t>(size.QuadPart);

  CompletionPort port(1);
  port.associate(source.get(), kReadKey);
  port.associate(target.get(), kWriteKey);

  std::vector<Chunk> chunks(options.in_flight);
  std::uint64_t next_offset = 0, copied = 0;
  std::size_t pending = 0;
  std::error_code first_error;
  std::string failed_call;

  auto fail = [&](std::error_code error, const char* call) {
    if (!first_error) {
      first_error = error;
      failed_call = call;
      // Cancel what is pending; each cancelled operation still queues its packet, which we drain.
      ::CancelIoEx(source.get(), nullptr);
      ::CancelIoEx(target.get(), nullptr);
    }
  };
  // Starts the next read into `chunk`, if there is anything left and nothing failed.
  auto read_next = [&](Chunk& chunk) {
    if (first_error || next_offset >= total) return;
    chunk.offset = next_offset;
    auto want = static_cast<DWORD>(std::min<std::uint64_t>(options.chunk, total - next_offset));
    next_offset += want;
    *static_cast<OVERLAPPED*>(&chunk) = OVERLAPPED{};
    Started s = start_read_file(source.get(), std::span(chunk.buffer.data(), want), chunk.offset, chunk);
    if (s.state == Started::failed) return fail(s.error, "ReadFile");
    ++pending;  // completed_now or pending: either way a packet comes
  };

  for (Chunk& chunk : chunks) {
    chunk.buffer.resize(options.chunk);
    read_next(chunk);
  }
  while (pending > 0) {
    GetResult r = port.get(std::chrono::seconds(30));
    if (!r.has_packet()) {  // nothing within 30 s: give up, but the buffers cannot be freed safely now
      throw std::system_error(r.error, "copy_file: GetQueuedCompletionStatus (operations still pending)");
    }
    --pending;
    auto& chunk = *static_cast<Chunk*>(r.packet.overlapped);
    if (r.status == GetStatus::failed) {
      fail(r.error, r.packet.key == kReadKey ? "ReadFile" : "WriteFile");
      continue;
    }
    if (r.packet.key == kReadKey) {
      if (first_error || r.packet.bytes == 0) continue;  // failing, or the file shrank under us
      chunk.length = r.packet.bytes;
      *static_cast<OVERLAPPED*>(&chunk) = OVERLAPPED{};
      Started s = start_write_file(target.get(), std::span<const char>(chunk.buffer.data(), chunk.length),
                                   chunk.offset, chunk);
      if (s.state == Started::failed)
        fail(s.error, "WriteFile");
      else
        ++pending;
    } else {
      copied += r.packet.bytes;
      read_next(chunk);  // this chunk's buffer is free again: lend it to the next read
    }
  }
  if (first_error) throw std::system_error(first_error, failed_call);
  return copied;
}

}  // namespace evq::iocp::lab
