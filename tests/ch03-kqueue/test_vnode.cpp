// EVFILT_VNODE: a file or directory reports what happened to it (NOTE_* in fflags), never to
// which name. On Linux this runs against the emulation, which reads inotify underneath.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "evq/common/net.hpp"
#include "evq/common/unique_fd.hpp"
#include "kq_test.hpp"

using namespace evq::kq;
using namespace evq::kq::test;

namespace {

// A fresh directory under /tmp, removed (with the files the tests leave) at the end.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    char name[] = "/tmp/evq-vnode-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~ScratchDir() {
    for (const char* f : {"/file", "/other", "/renamed", "/link", "/sub"}) {
      ::unlink((path + f).c_str());
      ::rmdir((path + f).c_str());
    }
    ::rmdir(path.c_str());
  }
  std::string file(const char* name) const { return path + "/" + name; }
};

void write_file(const std::string& path, const char* text) {
  evq::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644));
  REQUIRE(fd);
  REQUIRE(::write(fd.get(), text, std::char_traits<char>::length(text)) >= 0);
}

constexpr unsigned kAll = NOTE_DELETE | NOTE_WRITE | NOTE_EXTEND | NOTE_ATTRIB | NOTE_LINK | NOTE_RENAME;

}  // namespace

TEST_CASE("EVFILT_VNODE on a file: a write is NOTE_WRITE|NOTE_EXTEND, then chmod is NOTE_ATTRIB") {
  EVQ_KQ_PLATFORM_NOTE();
  ScratchDir dir;
  write_file(dir.file("file"), "");
  evq::UniqueFd fd(::open(dir.file("file").c_str(), O_RDONLY));
  REQUIRE(fd);
  Kqueue kq;
  kq.apply(change(id(fd.get()), EVFILT_VNODE, EV_ADD | EV_CLEAR, kAll));
  CHECK(count_pending(kq, id(fd.get()), EVFILT_VNODE) == 0);  // nothing has happened yet

  write_file(dir.file("file"), "more bytes");
  auto ev = wait_for(kq, id(fd.get()), EVFILT_VNODE);
  REQUIRE_MESSAGE(ev, "no EVFILT_VNODE event after a write to the file");
  INFO("got " << describe(*ev));
  CHECK((ev->fflags & NOTE_WRITE));
  CHECK_MESSAGE((ev->fflags & NOTE_EXTEND), "the file grew");
  CHECK_FALSE((ev->fflags & NOTE_DELETE));
  CHECK(count_pending(kq, id(fd.get()), EVFILT_VNODE) == 0);  // EV_CLEAR: reported once

  REQUIRE(::chmod(dir.file("file").c_str(), 0600) == 0);
  auto attrib = wait_for(kq, id(fd.get()), EVFILT_VNODE);
  REQUIRE(attrib);
  CHECK(attrib->fflags == NOTE_ATTRIB);
}

TEST_CASE("EVFILT_VNODE on a file: rename is NOTE_RENAME, unlink is NOTE_DELETE, only what was asked") {
  EVQ_KQ_PLATFORM_NOTE();
  ScratchDir dir;
  write_file(dir.file("file"), "x");
  evq::UniqueFd fd(::open(dir.file("file").c_str(), O_RDONLY));
  REQUIRE(fd);
  Kqueue kq;
  kq.apply(change(id(fd.get()), EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_RENAME | NOTE_DELETE));

  write_file(dir.file("file"), "y");  // a write, which this knote did not ask about
  CHECK_MESSAGE(!wait_for(kq, id(fd.get()), EVFILT_VNODE, std::chrono::milliseconds(100)),
                "a write was reported to a knote that asked for NOTE_RENAME | NOTE_DELETE only");

  REQUIRE(::rename(dir.file("file").c_str(), dir.file("renamed").c_str()) == 0);
  auto renamed = wait_for(kq, id(fd.get()), EVFILT_VNODE);
  REQUIRE(renamed);
  CHECK(renamed->fflags == NOTE_RENAME);

  REQUIRE(::unlink(dir.file("renamed").c_str()) == 0);
  auto deleted = wait_for(kq, id(fd.get()), EVFILT_VNODE);
  REQUIRE_MESSAGE(deleted, "no NOTE_DELETE after unlink (the descriptor still holds the file open)");
  CHECK(deleted->fflags == NOTE_DELETE);
}

TEST_CASE("EVFILT_VNODE on a directory: an entry added or removed is NOTE_WRITE, with no name") {
  EVQ_KQ_PLATFORM_NOTE();
  ScratchDir dir;
  evq::UniqueFd fd(::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY));
  REQUIRE(fd);
  Kqueue kq;
  kq.apply(change(id(fd.get()), EVFILT_VNODE, EV_ADD | EV_CLEAR, kAll));

  write_file(dir.file("other"), "");
  auto created = wait_for(kq, id(fd.get()), EVFILT_VNODE);
  REQUIRE_MESSAGE(created, "creating a file in the directory was not reported");
  // That is all a kqueue says: the directory changed. Which entry, the program must find out by
  // reading the directory (ReadDirectoryChangesW and inotify hand over the name).
  CHECK((created->fflags & NOTE_WRITE));
  CHECK(created->data == 0);

  REQUIRE(::mkdir(dir.file("sub").c_str(), 0755) == 0);
  auto subdir = wait_for(kq, id(fd.get()), EVFILT_VNODE);
  REQUIRE(subdir);
  CHECK((subdir->fflags & NOTE_WRITE));
  CHECK_MESSAGE((subdir->fflags & NOTE_LINK), "a new subdirectory raises the directory's link count");

  REQUIRE(::unlink(dir.file("other").c_str()) == 0);
  auto removed = wait_for(kq, id(fd.get()), EVFILT_VNODE);
  REQUIRE(removed);
  CHECK((removed->fflags & NOTE_WRITE));

  REQUIRE(::rmdir(dir.file("sub").c_str()) == 0);
  auto gone = wait_for(kq, id(fd.get()), EVFILT_VNODE);
  REQUIRE(gone);
  INFO("got " << describe(*gone));
  CHECK((gone->fflags & NOTE_LINK));
  CHECK_FALSE_MESSAGE((gone->fflags & NOTE_DELETE), "removing a subdirectory does not delete the directory");
}

TEST_CASE("EVFILT_VNODE is refused on a socket, and NOTE_REVOKE by the emulation") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  evq::TcpPair pair = evq::tcp_pair();
  CHECK(answer(kq, change(id(pair.server.get()), EVFILT_VNODE, EV_ADD, NOTE_WRITE)) == EINVAL);
#ifdef EVQ_KQUEUE_EMULATION
  ScratchDir dir;
  evq::UniqueFd fd(::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY));
  REQUIRE(fd);
  CHECK(answer(kq, change(id(fd.get()), EVFILT_VNODE, EV_ADD, NOTE_REVOKE)) == EINVAL);
  CHECK_MESSAGE(std::string(kqueue_emulation_why()).find("NOTE_REVOKE") != std::string::npos,
                std::string(kqueue_emulation_why()));
#else
  MESSAGE("a real kqueue: NOTE_REVOKE is accepted (revoke(2) exists); nothing more to check");
#endif
}
