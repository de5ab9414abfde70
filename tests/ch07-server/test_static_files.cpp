// The static-file handler's path check and cache, on its own (no sockets).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "evq/http/static_files.hpp"
#include "evq/test/support.hpp"
#include "server_fixture.hpp"

namespace fs = std::filesystem;
using evq::http::StaticFiles;
using evq::http::test::Site;

namespace {
std::string body_of(const StaticFiles::Found& f) {
  return f.body ? *f.body : "";
}
}  // namespace

TEST_CASE("a file, a directory's index.html, a query ignored, %-escapes decoded, content types") {
  Site site;
  site.write("a b.txt", "spaced\n");
  StaticFiles files(site.dir);
  CHECK(body_of(files.find("/hello.txt")) == "hello\n");
  CHECK(files.find("/hello.txt").content_type == "text/plain; charset=utf-8");
  CHECK(body_of(files.find("/")) == "<p>index</p>\n");
  CHECK(body_of(files.find("/docs")) == "<p>docs</p>\n");
  CHECK(body_of(files.find("/docs/?page=2")) == "<p>docs</p>\n");
  CHECK(body_of(files.find("/a%20b.txt")) == "spaced\n");
  CHECK(files.find("/big.bin").content_type == "application/octet-stream");
  CHECK(files.find("/index.html").content_type == "text/html; charset=utf-8");
  CHECK(files.find("/missing").status == 404);
}

TEST_CASE("the path check: '..' in any spelling is refused, a bad escape or a NUL is refused") {
  Site site;
  StaticFiles files(site.dir);
  for (const char* target :
       {"/../x", "/docs/../../x", "/%2e%2e/x", "/docs/%2E%2E/%2e%2e/etc/passwd", "/.."}) {
    CAPTURE(target);
    CHECK(files.find(target).status == 400);
  }
  CHECK(files.find("/hello.txt%00.html").status == 400);
  CHECK(files.find("/%zz").status == 400);
  CHECK(files.find("/%4").status == 400);
  CHECK(body_of(files.find("/./docs/./index.html")) == "<p>docs</p>\n");  // '.' is harmless
}

TEST_CASE("symlinks: one that stays inside the root is served, one that leads out is a 404") {
  Site site;
  Site outside;  // another directory, whose files must never be served
  fs::create_symlink(site.dir / "hello.txt", site.dir / "inside-link");
  fs::create_symlink(outside.dir / "hello.txt", site.dir / "outside-link");
  fs::create_directory_symlink(outside.dir, site.dir / "outside-dir");
  // A sibling whose name starts like the root: "/tmp/x-2" is not inside "/tmp/x".
  const fs::path sibling = site.dir.string() + "-sibling";
  fs::create_directories(sibling);
  std::ofstream(sibling / "secret") << "secret\n";
  fs::create_symlink(sibling / "secret", site.dir / "sibling-link");
  StaticFiles files(site.dir);
  CHECK(body_of(files.find("/inside-link")) == "hello\n");
  CHECK(files.find("/outside-link").status == 404);
  CHECK(files.find("/outside-dir/hello.txt").status == 404);
  CHECK(files.find("/sibling-link").status == 404);
  fs::remove_all(sibling);
}

TEST_CASE("the cache notices a file that changed on disk") {
  Site site;
  StaticFiles files(site.dir);
  CHECK(body_of(files.find("/hello.txt")) == "hello\n");
  site.write("hello.txt", "changed, and longer\n");
  // Checked against the disk at most once a second: wait (boundedly) for the new content.
  CHECK(evq::test::wait_until([&] { return body_of(files.find("/hello.txt")) == "changed, and longer\n"; }));
}

TEST_CASE("a file replaced by a symlink that leads out is refused once its remembered lookup expires") {
  // find() remembers where a path led for up to a second (the file system walk was the server's
  // biggest cost per request). The swap below must be noticed when that second is over.
  Site site;
  Site outside;
  StaticFiles files(site.dir);
  site.write("page.txt", "inside\n");
  CHECK(body_of(files.find("/page.txt")) == "inside\n");
  fs::remove(site.dir / "page.txt");
  fs::create_symlink(outside.dir / "hello.txt", site.dir / "page.txt");
  CHECK(evq::test::wait_until([&] { return files.find("/page.txt").status == 404; }));
  CHECK(files.find("/page.txt").status == 404);  // and it stays refused: a failure is not remembered
  fs::remove(site.dir / "page.txt");
  CHECK(files.find("/page.txt").status == 404);
}

TEST_CASE("answers are remembered by their spelling, but not a long one, and not a failure") {
  // A client may spell one file many ways ("/./hello.txt", "//hello.txt", ...); each spelling that
  // is remembered costs its length in memory, so a spelling longer than 256 bytes is looked up
  // every time instead.
  Site site;
  StaticFiles files(site.dir);
  CHECK(body_of(files.find("/hello.txt")) == "hello\n");
  CHECK(body_of(files.find("/./hello.txt?x=1")) == "hello\n");
  CHECK(files.remembered_answers() == 2);
  for (int i = 0; i < 50; ++i) {
    std::string longer = "/";
    for (int dots = 0; dots < 200 + i; ++dots) longer += "./";
    CHECK(body_of(files.find(longer + "hello.txt")) == "hello\n");
  }
  CHECK(files.find("/missing.txt").status == 404);
  CHECK(files.remembered_answers() == 2);
}

TEST_CASE("an answer is remembered only while the file cache holds its body") {
  // The cache holds files up to 1 MiB, 64 MiB in all. An answer remembered by its spelling keeps
  // its body alive, so one for a body the cache had no room for would hold memory past that bound.
  Site site;
  StaticFiles files(site.dir);
  const std::string mebibyte(1024 * 1024, 'x');
  for (int i = 0; i < 66; ++i) site.write("big" + std::to_string(i) + ".txt", mebibyte);
  site.write("huge.txt", mebibyte + "and more");
  for (int i = 0; i < 66; ++i) {
    const StaticFiles::Found f = files.find("/big" + std::to_string(i) + ".txt");
    REQUIRE(f.status == 200);
    CHECK(f.body->size() == mebibyte.size());
  }
  CHECK(body_of(files.find("/huge.txt")).size() == mebibyte.size() + 8);
  CHECK_MESSAGE(
      files.remembered_answers() == 64,
      "64 files of 1 MiB fill the cache; the two after them and the larger file are served, not kept");
}

TEST_CASE("a root that is not a directory is refused when the server is made") {
  CHECK_THROWS_AS(StaticFiles("/nonexistent/evq/root"), std::invalid_argument);
}
