// Lab ch01/file_copy: an overlapped file copy through a completion port.
#include <doctest/doctest.h>

#include <ostream>
#include <stdexcept>
#include <system_error>

#include "evq/iocp/lab/file_copy.hpp"
#include "temp_file.hpp"

using evq::iocp::lab::copy_file;
using evq::iocp::lab::CopyOptions;
using evq::iocp::test::TempFile;

TEST_CASE("a file smaller than one chunk is copied exactly [2 pts]") {
  TempFile from, to;
  std::string content = "hello, overlapped world\r\n";
  from.write(content);
  CHECK(copy_file(from.path(), to.path()) == content.size());
  CHECK(to.read() == content);
}

TEST_CASE("a file of many chunks, several in flight, is copied byte for byte [3 pts]") {
  TempFile from, to;
  std::string content = evq::iocp::test::pattern(300'000 + 123);  // not a multiple of the chunk
  from.write(content);
  CHECK(copy_file(from.path(), to.path(), CopyOptions{.chunk = 4096, .in_flight = 8}) == content.size());
  std::string copy = to.read();
  CHECK(copy.size() == content.size());
  CHECK_MESSAGE(copy == content, "the copy differs: was a chunk written at the wrong offset?");
}

TEST_CASE("one chunk in flight at a time still copies everything [1 pt]") {
  TempFile from, to;
  std::string content = evq::iocp::test::pattern(50'000);
  from.write(content);
  CHECK(copy_file(from.path(), to.path(), CopyOptions{.chunk = 1000, .in_flight = 1}) == content.size());
  CHECK(to.read() == content);
}

TEST_CASE("an empty file gives an empty copy, and a longer old destination is truncated [1 pt]") {
  TempFile from, to;
  from.write("");
  to.write("old content that must go");
  CHECK(copy_file(from.path(), to.path()) == 0);
  CHECK(to.read().empty());
}

TEST_CASE("a missing source throws system_error with ERROR_FILE_NOT_FOUND [1 pt]") {
  TempFile to;
  std::wstring missing = to.path() + L".does-not-exist";
  try {
    copy_file(missing, to.path());
    FAIL("copy_file of a missing file returned");
  } catch (const std::system_error& e) {
    INFO("what(): ", std::string(e.what()));
    CHECK(e.code() == evq::win32_code(ERROR_FILE_NOT_FOUND));
  } catch (const std::exception& e) {
    FAIL("expected std::system_error, got: " << std::string(e.what()));
  }
}

TEST_CASE("chunk 0 or in_flight 0 is refused with invalid_argument [1 pt]") {
  TempFile from, to;
  from.write("x");
  CHECK_THROWS_AS(copy_file(from.path(), to.path(), CopyOptions{.chunk = 0, .in_flight = 4}),
                  std::invalid_argument);
  CHECK_THROWS_AS(copy_file(from.path(), to.path(), CopyOptions{.chunk = 16, .in_flight = 0}),
                  std::invalid_argument);
}
