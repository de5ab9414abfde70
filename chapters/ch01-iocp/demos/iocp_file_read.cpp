// iocp_file_read: an overlapped ReadFile of a file through a completion port. Files and sockets are
// the same to a port: associate the handle, start the read with an OVERLAPPED that carries the
// offset, and the completion arrives as a packet.
#include <fmt/core.h>

#include <array>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "evq/common/cli.hpp"
#include "evq/common/narrate.hpp"
#include "evq/common/win32.hpp"
#include "evq/iocp/completion_port.hpp"
#include "evq/iocp/overlapped_io.hpp"

namespace {

// A scratch file in %TEMP%, deleted when its last handle closes.
std::wstring temp_file_path() {
  wchar_t dir[MAX_PATH + 1];
  if (::GetTempPathW(MAX_PATH + 1, dir) == 0) evq::throw_last_error("GetTempPathW");
  wchar_t path[MAX_PATH + 1];
  if (::GetTempFileNameW(dir, L"evq", 0, path) == 0) evq::throw_last_error("GetTempFileNameW");
  return path;
}

int run(const evq::Cli& cli) {
  evq::Narrator say(!cli.has("quiet"));
  const auto chunk = static_cast<std::size_t>(cli.get_int("chunk", 1, 1 << 20));
  const auto size = static_cast<std::size_t>(cli.get_int("size", 0, 64 << 20));
  say.title("An overlapped ReadFile through a completion port");

  // Some content to read back: a recognisable pattern.
  std::string content(size, '\0');
  for (std::size_t i = 0; i < size; ++i) content[i] = static_cast<char>('A' + (i / 7) % 26);
  std::wstring path = temp_file_path();

  // [snippet file-open]
  evq::UniqueHandle file(
      ::CreateFileW(path.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                    FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE | FILE_FLAG_OVERLAPPED, nullptr));
  if (!file) evq::throw_last_error("CreateFileW(FILE_FLAG_OVERLAPPED)");
  // [/snippet file-open]
  say.step("CreateFileW(temp file, FILE_FLAG_OVERLAPPED | FILE_FLAG_DELETE_ON_CLOSE) -> handle {}",
           fmt::ptr(file.get()));
  say.aside("without FILE_FLAG_OVERLAPPED every ReadFile would block, port or no port");

  evq::iocp::CompletionPort port(1);
  constexpr ULONG_PTR kFileKey = 1;
  port.associate(file.get(), kFileKey);
  say.step("CreateIoCompletionPort(file, new port, key {}) -> associated", kFileKey);

  // Write the content first (overlapped too: the file has no blocking mode now).
  if (size > 0) {
    OVERLAPPED write_op{};
    evq::iocp::Started w = evq::iocp::start_write_file(file.get(), content, 0, write_op);
    if (w.state == evq::iocp::Started::failed) throw std::system_error(w.error, "WriteFile");
    evq::iocp::GetResult done = port.get(std::chrono::seconds(10));
    if (done.status != evq::iocp::GetStatus::completed || done.packet.bytes != size)
      throw std::runtime_error("WriteFile did not complete with every byte");
    say.step("WriteFile({} bytes at offset 0) -> {}; packet: {} bytes", size, evq::iocp::to_string(w.state),
             done.packet.bytes);
  }

  // [snippet file-read-loop]
  std::vector<char> buffer(chunk);
  std::string read_back;
  std::uint64_t offset = 0;
  for (;;) {
    OVERLAPPED op{};  // a fresh one per read: it carries the offset and, later, the status
    evq::iocp::Started r = evq::iocp::start_read_file(file.get(), buffer, offset, op);
    if (r.state == evq::iocp::Started::failed) {
      if (r.error == evq::win32_code(ERROR_HANDLE_EOF)) {  // at the end: failed at once, no packet
        say.step("ReadFile(at {}) -> ERROR_HANDLE_EOF at once: the end, and no packet comes", offset);
        break;
      }
      throw std::system_error(r.error, "ReadFile");
    }
    evq::iocp::GetResult got = port.get(std::chrono::seconds(10));
    if (got.status == evq::iocp::GetStatus::failed && got.error == evq::win32_code(ERROR_HANDLE_EOF)) {
      say.step("ReadFile(at {}) -> {}; packet says ERROR_HANDLE_EOF: the end", offset,
               evq::iocp::to_string(r.state));
      break;  // the end can also be reported through the packet
    }
    if (got.status != evq::iocp::GetStatus::completed || got.packet.overlapped != &op)
      throw std::runtime_error(
          fmt::format("ReadFile: unexpected packet ({})", evq::iocp::to_string(got.status)));
    say.step("ReadFile({} bytes at {}) -> {}; packet: key {}, {} bytes", buffer.size(), offset,
             evq::iocp::to_string(r.state), got.packet.key, got.packet.bytes);
    read_back.append(buffer.data(), got.packet.bytes);
    offset += got.packet.bytes;
    if (got.packet.bytes == 0) break;
  }
  // [/snippet file-read-loop]

  bool same = read_back == content;
  say.step("read back {} of {} bytes: {}", read_back.size(), content.size(),
           same ? "identical" : "DIFFERENT");
  return same ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  evq::Cli cli("iocp_file_read", "Overlapped ReadFile of a temporary file through a completion port.");
  cli.option("size", "bytes in the file", "10000");
  cli.option("chunk", "bytes per ReadFile", "4096");
  cli.flag("quiet", "do not narrate");
  cli.epilog(
      "Try: tools/wine-run $PWD/build/windows-wine/wineprefix build/windows-wine/bin/ch01/iocp_file_read.exe --size 100000 --chunk 65536");
  cli.parse(argc, argv);
  return cli.run([&] { return run(cli); });
}
