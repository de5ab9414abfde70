// StaticFiles: files of one directory, by request target, without ever leaving that directory.
//
//   StaticFiles files("www");
//   StaticFiles::Found f = files.find("/docs/a%20b.html?x=1");   // f.status 200, f.body, f.content_type
//
// The path check, in order (each has a test in tests/ch07-server/test_static_files.cpp):
//  1. the query ("?...") is dropped and %XX escapes decoded; a bad escape or a NUL byte: 400;
//  2. the path is split at '/'; a ".." segment: 400 (it could only climb out of the root);
//  3. the file is looked up under the root; a directory serves its index.html;
//  4. the real path (every symlink resolved) must still be inside the root's real path: a symlink
//     that points outside is a 404, as if it were not there; so is anything that is not a regular
//     file.
// Files up to 1 MiB are kept in memory (64 MiB in all) and checked against the disk (size and
// modification time) at most once a second, as nginx's open_file_cache_valid does; larger ones
// are read for each request. Steps 3 and 4 are remembered for a second too (a path that resolved
// inside the root, per decoded path): they walk the file system, and were the server's biggest
// cost per request (chapter 7's notes, "Where the time goes"). So a file replaced by a symlink
// that leads out is refused within a second, not at once: nginx's file cache has the same window.
// What failed is never remembered. In front of both, the last answer for each path as the request
// spelled it (before decoding) is kept for as long as the checks it rests on: a repeated request
// costs one lookup, not a decode, a path walk and two. Thread-safe.
//
// Why not sendfile(2) or TransmitFile: the server writes through chapter 4's completion interface,
// which lends a buffer to a write; a file descriptor is not a buffer. For the small files this
// chapter serves the copy out of the cache is one memcpy into the socket buffer; for large files
// sendfile would save it, and is left as a challenge.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace evq::http {

class StaticFiles {
 public:
  explicit StaticFiles(const std::filesystem::path& root);  // throws if root is not a directory

  struct Found {
    int status = 404;                         // 200, 400 or 404
    std::string why;                          // for an error's body: what was wrong
    std::shared_ptr<const std::string> body;  // the file (200 only)
    std::string_view content_type = "application/octet-stream";
  };
  Found find(std::string_view target) const;

  const std::filesystem::path& root() const { return root_; }
  // How many answers are remembered by their spelling (bounded: see remember()).
  std::size_t remembered_answers() const {
    std::lock_guard lock(mutex_);
    return answers_.size();
  }

 private:
  struct Cached {
    std::shared_ptr<const std::string> body;
    std::filesystem::file_time_type mtime;
    std::uintmax_t size = 0;
    std::chrono::steady_clock::time_point checked;
  };
  struct Resolved {
    std::filesystem::path real;  // inside the root, a regular file
    std::chrono::steady_clock::time_point checked;
  };
  struct Answer {  // a 200, for the request's path as it was spelled
    std::shared_ptr<const std::string> body;
    std::string_view content_type;                // one of content_type_for()'s constants
    std::chrono::steady_clock::time_point since;  // its oldest check: stale a second after that
  };
  // Transparent: looked up by the request's string_view, with no string made for it.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  void remember(std::string_view raw_path, const Found& f, std::chrono::steady_clock::time_point since) const;

  std::filesystem::path root_;  // canonical
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::string, Cached> cache_;
  mutable std::size_t cached_bytes_ = 0;
  mutable std::unordered_map<std::string, Resolved> resolved_;  // decoded path -> where it led
  mutable std::unordered_map<std::string, Answer, Hash, std::equal_to<>> answers_;  // raw path -> 200
};

// Decodes %XX escapes; false on a malformed escape or a decoded NUL.
bool percent_decode(std::string_view in, std::string& out);

std::string_view content_type_for(const std::filesystem::path& file);

}  // namespace evq::http
