// ReadDirectoryChangesW through a completion port: each completion carries what changed and the
// file's name; a buffer too small for the batch completes with 0 bytes.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "evq/iocp/completion_port.hpp"
#include "evq/iocp/directory_watch.hpp"
#include "evq/test/support.hpp"
#include "host.hpp"

using evq::iocp::CompletionPort;
using evq::iocp::DirectoryChange;
using evq::iocp::GetStatus;
using evq::iocp::Started;

namespace {

void create_file(const std::wstring& path) {
  evq::UniqueHandle h(::CreateFileW(path.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_NEW, 0, nullptr));
  REQUIRE_MESSAGE(static_cast<bool>(h), "CreateFileW failed: ", ::GetLastError());
}

// One watch on one directory: the lent buffer and OVERLAPPED, restarted after every completion.
struct Watch {
  evq::UniqueHandle dir;
  alignas(DWORD) std::array<std::byte, 8192> buffer{};
  OVERLAPPED op{};

  void start() {
    op = {};
    Started s = evq::iocp::start_read_directory_changes(dir.get(), buffer, op);
    REQUIRE_MESSAGE(s.state != Started::failed, "ReadDirectoryChangesW: ", s.error.message());
  }

  // Collects records until `want` have come or no packet arrives in time.
  std::vector<DirectoryChange> collect(CompletionPort& port, std::size_t want) {
    std::vector<DirectoryChange> all;
    while (all.size() < want) {
      evq::iocp::GetResult g = port.get(evq::test::kDeadline);
      if (!g.has_packet()) break;
      REQUIRE(g.packet.overlapped == &op);
      for (DirectoryChange& c : evq::iocp::parse_changes(buffer, g.packet.bytes)) all.push_back(std::move(c));
      start();  // the next batch needs the next call
    }
    return all;
  }
};

std::string describe(const std::vector<DirectoryChange>& changes) {
  std::string text;
  for (const DirectoryChange& c : changes) {
    text += evq::iocp::action_name(c.action);
    text += ' ';
    text += std::string(c.name.begin(), c.name.end());  // the test's names are ASCII
    text += "; ";
  }
  return text;
}

}  // namespace

TEST_CASE("ReadDirectoryChangesW completes with the names: create, rename, delete") {
  evq::iocp::TempDirectory scratch;
  CompletionPort port(1);
  Watch watch{evq::iocp::open_directory(scratch.path())};
  port.associate(watch.dir.get(), 1);
  watch.op = {};
  Started s = evq::iocp::start_read_directory_changes(watch.dir.get(), watch.buffer, watch.op);
  CHECK_MESSAGE(s.state == Started::pending, "TRUE from an overlapped ReadDirectoryChangesW means queued");
  CHECK(port.get(std::chrono::milliseconds(0)).status == GetStatus::timed_out);  // nothing changed yet

  create_file(scratch.file(L"first.txt"));
  REQUIRE(::MoveFileW(scratch.file(L"first.txt").c_str(), scratch.file(L"second.txt").c_str()));
  REQUIRE(::DeleteFileW(scratch.file(L"second.txt").c_str()));

  std::vector<DirectoryChange> changes = watch.collect(port, 4);
  INFO("changes: " << describe(changes));
  MESSAGE("host ", evq::iocp::test::host_name(), ": ", describe(changes));
  // The four that must be there, in this order (a "modified" may come between them).
  const std::vector<std::pair<DWORD, std::wstring>> expected = {{FILE_ACTION_ADDED, L"first.txt"},
                                                                {FILE_ACTION_RENAMED_OLD_NAME, L"first.txt"},
                                                                {FILE_ACTION_RENAMED_NEW_NAME, L"second.txt"},
                                                                {FILE_ACTION_REMOVED, L"second.txt"}};
  std::size_t next = 0;
  for (const DirectoryChange& c : changes)
    if (next < expected.size() && c.action == expected[next].first && c.name == expected[next].second) ++next;
  CHECK_MESSAGE(next == expected.size(), "added, renamed from, renamed to, removed: found ", next,
                " of 4 in order");
  ::CancelIoEx(watch.dir.get(), &watch.op);
  CHECK(port.get(evq::test::kDeadline).has_packet());  // the cancelled watch's own packet
}

TEST_CASE("a buffer too small for the batch: the completion has 0 bytes (rescan the directory)") {
  evq::iocp::TempDirectory scratch;
  CompletionPort port(1);
  evq::UniqueHandle dir = evq::iocp::open_directory(scratch.path());
  port.associate(dir.get(), 1);
  // Room for one record with a short name at most; the names below need more.
  alignas(DWORD) std::array<std::byte, 16> tiny{};
  OVERLAPPED op{};
  Started s = evq::iocp::start_read_directory_changes(dir.get(), tiny, op);
  REQUIRE_MESSAGE(s.state != Started::failed, s.error.message());
  create_file(scratch.file(L"a-name-longer-than-the-buffer.txt"));
  evq::iocp::GetResult g = port.get(evq::test::kDeadline);
  REQUIRE(g.has_packet());
  MESSAGE("host ", evq::iocp::test::host_name(), ": the overflowing watch completed ",
          std::string(evq::iocp::to_string(g.status)), " with ", g.packet.bytes, " bytes",
          (g.error ? ", " + g.error.message() : ""));
  CHECK(g.packet.bytes == 0);
  CHECK(evq::iocp::parse_changes(tiny, g.packet.bytes).empty());
  // Windows says ERROR_NOTIFY_ENUM_DIR with it; either way nothing is to be parsed.
  CHECK((g.status == GetStatus::completed || g.error == evq::win32_code(ERROR_NOTIFY_ENUM_DIR)));
}
