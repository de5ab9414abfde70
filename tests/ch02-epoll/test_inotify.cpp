// Directory changes under epoll: an inotify descriptor is readable when changes are queued, and a
// read returns records that carry the entry's name. (ch01's ReadDirectoryChangesW hands over names
// too; ch03's EVFILT_VNODE says only that the directory changed.)
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "ch02_test.hpp"
#include "evq/common/unique_fd.hpp"

using namespace evq;
using namespace evq::epoll;
using namespace evq::epoll::test;

namespace {

struct ScratchDir {
  std::string path;
  ScratchDir() {
    char name[] = "/tmp/evq-inotify-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~ScratchDir() {
    for (const char* f : {"/first", "/second"}) ::unlink((path + f).c_str());
    ::rmdir(path.c_str());
  }
  std::string file(const char* name) const { return path + "/" + name; }
};

struct Change {
  std::uint32_t mask;
  std::string name;
};

// Everything queued on the inotify descriptor now (it is non-blocking).
std::vector<Change> read_changes(int fd) {
  std::vector<Change> changes;
  alignas(inotify_event) char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) {
    for (ssize_t at = 0; at < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buffer + at);
      changes.push_back({e->mask, e->len ? std::string(e->name) : std::string()});
      at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
    }
  }
  return changes;
}

}  // namespace

TEST_CASE("inotify in epoll: create, rename and delete arrive with the names") {
  ScratchDir dir;
  UniqueFd watch(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  REQUIRE(watch);
  REQUIRE(::inotify_add_watch(watch.get(), dir.path.c_str(),
                              IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE) >= 0);
  Poll poll;
  poll.registry().add(watch.get(), 7, EPOLLIN);
  Events events(4);
  CHECK(poll.wait(events, 0ms) == 0);  // nothing changed yet

  { UniqueFd f(::open(dir.file("first").c_str(), O_WRONLY | O_CREAT, 0644)); }
  REQUIRE(::rename(dir.file("first").c_str(), dir.file("second").c_str()) == 0);
  REQUIRE(::unlink(dir.file("second").c_str()) == 0);

  std::vector<Change> changes;
  while (changes.size() < 4) {
    REQUIRE_MESSAGE(poll.wait(events, 10s) == 1, "only " << changes.size() << " of 4 changes arrived");
    CHECK(events[0].token == 7);
    for (Change& c : read_changes(watch.get())) changes.push_back(std::move(c));
  }
  REQUIRE(changes.size() == 4);
  CHECK((changes[0].mask & IN_CREATE));
  CHECK(changes[0].name == "first");
  CHECK((changes[1].mask & IN_MOVED_FROM));
  CHECK(changes[1].name == "first");
  CHECK((changes[2].mask & IN_MOVED_TO));
  CHECK(changes[2].name == "second");
  CHECK((changes[3].mask & IN_DELETE));
  CHECK(changes[3].name == "second");
  CHECK_MESSAGE(poll.wait(events, 0ms) == 0, "all read: no longer readable");
}
