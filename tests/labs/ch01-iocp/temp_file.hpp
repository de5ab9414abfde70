// A scratch file in %TEMP% for the lab tests, deleted when the test ends.
#pragma once

#include <string>
#include <string_view>

#include "evq/common/win32.hpp"

namespace evq::iocp::test {

class TempFile {
 public:
  TempFile() {
    wchar_t dir[MAX_PATH + 1];
    if (::GetTempPathW(MAX_PATH + 1, dir) == 0) throw_last_error("GetTempPathW");
    wchar_t path[MAX_PATH + 1];
    if (::GetTempFileNameW(dir, L"evq", 0, path) == 0) throw_last_error("GetTempFileNameW");
    path_ = path;
  }
  ~TempFile() { ::DeleteFileW(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::wstring& path() const { return path_; }

  // Plain (blocking) file I/O, so the tests do not depend on the code under test.
  void write(std::string_view content) const {
    UniqueHandle f(::CreateFileW(path_.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                                 FILE_ATTRIBUTE_NORMAL, nullptr));
    if (!f) throw_last_error("CreateFileW(test file)");
    DWORD written = 0;
    if (!content.empty() &&
        !::WriteFile(f.get(), content.data(), static_cast<DWORD>(content.size()), &written, nullptr))
      throw_last_error("WriteFile(test file)");
  }
  std::string read() const {
    UniqueHandle f(::CreateFileW(path_.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING,
                                 FILE_ATTRIBUTE_NORMAL, nullptr));
    if (!f) throw_last_error("CreateFileW(test file)");
    std::string content;
    char buffer[65536];
    DWORD got = 0;
    while (::ReadFile(f.get(), buffer, sizeof buffer, &got, nullptr) && got > 0) content.append(buffer, got);
    return content;
  }

 private:
  std::wstring path_;
};

// Bytes that differ at every offset, so a chunk written at the wrong place shows.
inline std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + i / 4096) & 0xFF);
  return s;
}

}  // namespace evq::iocp::test
