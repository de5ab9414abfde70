#include "evq/http/static_files.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace evq::http {

namespace fs = std::filesystem;

namespace {
constexpr std::uintmax_t kMaxCachedFile = 1024 * 1024;
constexpr std::size_t kMaxCacheBytes = 64 * 1024 * 1024;
constexpr auto kRecheck = std::chrono::seconds(1);
constexpr std::size_t kMaxResolved = 4096;       // remembered path lookups
constexpr std::size_t kMaxRememberedPath = 256;  // longer spellings are looked up every time

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether `inside` is `root` or below it, component by component (not by string prefix:
// "/srv/www2" is not inside "/srv/www").
bool is_within(const fs::path& root, const fs::path& inside) {
  auto r = root.begin(), i = inside.begin();
  for (; r != root.end(); ++r, ++i)
    if (i == inside.end() || *r != *i) return false;
  return true;
}

std::shared_ptr<const std::string> read_whole(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return nullptr;
  auto body =
      std::make_shared<std::string>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return in.bad() ? nullptr : body;
}
}  // namespace

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;  // a '%' needs two hex digits after it
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return false;
    out += c;
  }
  return true;
}

std::string_view content_type_for(const fs::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  if (ext == ".css") return "text/css";
  if (ext == ".js") return "text/javascript";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".ico") return "image/x-icon";
  return "application/octet-stream";
}

StaticFiles::StaticFiles(const fs::path& root) {
  std::error_code ec;
  root_ = fs::canonical(root, ec);
  if (ec || !fs::is_directory(root_, ec))
    throw std::invalid_argument("StaticFiles: '" + root.string() + "' is not a directory");
}

// [snippet static-find]
StaticFiles::Found StaticFiles::find(std::string_view target) const {
  Found f;
  const std::string_view raw_path = target.substr(0, target.find('?'));
  const auto now = std::chrono::steady_clock::now();
  {
    // The answer itself, remembered by the path as it came (the same spelling of the same file, on
    // every request of a benchmark or a busy page): no decoding, no file system, one lookup.
    std::lock_guard lock(mutex_);
    auto it = answers_.find(raw_path);
    if (it != answers_.end() && now - it->second.since < kRecheck) {
      f.status = 200;
      f.body = it->second.body;
      f.content_type = it->second.content_type;
      return f;
    }
  }
  std::string path;
  if (!percent_decode(raw_path, path)) {
    f.status = 400;
    f.why = "a malformed %-escape or a NUL byte in the path";
    return f;
  }
  fs::path relative;
  for (std::size_t at = 0; at <= path.size();) {  // the segments between slashes
    const std::size_t slash = std::min(path.find('/', at), path.size());
    const std::string_view segment = std::string_view(path).substr(at, slash - at);
    if (segment == "..") {
      f.status = 400;
      f.why = "a '..' segment: the path may not climb out of the root";
      return f;
    }
    if (!segment.empty() && segment != ".") relative /= fs::path(std::string(segment));
    at = slash + 1;
  }
  const std::string asked = relative.generic_string();
  fs::path real;
  auto since = now;  // the oldest of the checks this answer rests on: it is remembered that long
  {
    std::lock_guard lock(mutex_);
    auto it = resolved_.find(asked);
    if (it != resolved_.end() && now - it->second.checked < kRecheck) {
      real = it->second.real;
      since = it->second.checked;
    }
  }
  std::error_code ec;
  if (real.empty()) {
    fs::path file = root_ / relative;
    if (fs::is_directory(file, ec)) file /= "index.html";
    real = fs::canonical(file, ec);  // every symlink resolved
    if (ec || !is_within(root_, real) || !fs::is_regular_file(real, ec)) {
      f.why = "no such file";  // outside the root looks the same as absent: nothing is revealed
      return f;
    }
    std::lock_guard lock(mutex_);
    if (resolved_.size() >= kMaxResolved) resolved_.clear();  // many names: start again
    resolved_[asked] = Resolved{real, now};
  }
  // [/snippet static-find]
  const std::string key = real.string();
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end() && now - it->second.checked < kRecheck) {
      f.status = 200;
      f.body = it->second.body;
      f.content_type = content_type_for(real);
      since = std::min(since, it->second.checked);
    }
  }
  if (f.status == 200) {
    remember(raw_path, f, since);
    return f;
  }
  const std::uintmax_t size = fs::file_size(real, ec);
  const fs::file_time_type mtime = fs::last_write_time(real, ec);
  if (ec) return f;  // gone meanwhile
  std::shared_ptr<const std::string> body;
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.size == size && it->second.mtime == mtime) {
      it->second.checked = now;  // unchanged on disk
      body = it->second.body;
    }
  }
  bool cached = body != nullptr;  // the cache holds it: then the answer may be remembered too
  if (!body) {
    body = read_whole(real);
    if (!body) return f;
    if (body->size() <= kMaxCachedFile) {
      std::lock_guard lock(mutex_);
      auto it = cache_.find(key);
      if (it != cache_.end()) cached_bytes_ -= it->second.body->size();
      if (cached_bytes_ + body->size() <= kMaxCacheBytes) {
        cache_[key] = Cached{body, mtime, size, now};
        cached_bytes_ += body->size();
        cached = true;
      } else if (it != cache_.end()) {
        cache_.erase(it);
      }
    }
  }
  f.status = 200;
  f.body = body;
  f.content_type = content_type_for(real);
  if (cached) remember(raw_path, f, since);
  return f;
}

// Only a 200 is remembered (a failure is looked up again every time), only a body the cache holds
// (an answer that kept a body the cache had no room for would pass kMaxCacheBytes), and only a
// short spelling: "/./././..." up to the header limit, 4096 times over, would otherwise hold
// megabytes of keys. Many spellings: start again, as resolved_ does.
void StaticFiles::remember(std::string_view raw_path, const Found& f,
                           std::chrono::steady_clock::time_point since) const {
  if (raw_path.size() > kMaxRememberedPath) return;
  std::lock_guard lock(mutex_);
  if (answers_.size() >= kMaxResolved) answers_.clear();
  answers_.insert_or_assign(std::string(raw_path), Answer{f.body, f.content_type, since});
}

}  // namespace evq::http
