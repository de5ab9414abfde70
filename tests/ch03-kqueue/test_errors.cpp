// Bad input answered with errors, never a crash or a hang: bad descriptors, unknown or unemulated
// filters and flags, bad timer values, bad timeouts, a closed kqueue.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "evq/common/error.hpp"
#include "evq/common/net.hpp"
#include "kq_test.hpp"

using namespace evq::kq;
using namespace evq::kq::test;

TEST_CASE("a descriptor that is not open is refused with EBADF") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  CHECK(answer(kq, change(static_cast<uintptr_t>(-1), EVFILT_READ, EV_ADD)) == EBADF);
  CHECK(answer(kq, change(1'000'000, EVFILT_WRITE, EV_ADD)) == EBADF);
  try {
    kq.apply(change(1'000'000, EVFILT_READ, EV_ADD));
    FAIL("apply() should throw for a bad descriptor");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == EBADF);
    CHECK_MESSAGE(std::string(e.what()).find("EVFILT_READ") != std::string::npos,
                  "the error names the change: " << e.what());
  }
}

TEST_CASE("an unknown filter is refused with EINVAL, and a change with filter 0 is skipped") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  CHECK(answer(kq, change(1, -100, EV_ADD)) == EINVAL);
  CHECK(answer(kq, change(1, 42, EV_ADD)) == EINVAL);
  // FreeBSD passes over an entry whose filter is 0: no change, and no answer even with EV_RECEIPT
  // (the emulation follows it). That is FreeBSD's behaviour, not a documented rule of kevent(2)
  // everywhere: elsewhere filter 0 is just an unknown filter, refused with an EV_ERROR answer.
  struct kevent skipped = change(1, 0, EV_ADD | EV_RECEIPT);
  struct kevent out {};
  const std::size_t n = kq.kevent(std::span(&skipped, 1), std::span(&out, 1), 0ns);
#if defined(__FreeBSD__) || defined(EVQ_KQUEUE_EMULATION)
  CHECK_MESSAGE(n == 0, "FreeBSD (and the emulation) skip a filter-0 entry without an answer");
#else
  MESSAGE("filter 0 on this system: " << (n == 0 ? "skipped, as on FreeBSD" : "answered"));
  CHECK_MESSAGE((n == 0 || (n == 1 && (out.flags & EV_ERROR) && out.data == EINVAL)),
                "filter 0 is either skipped (FreeBSD) or refused as an unknown filter (EINVAL)");
#endif
}

TEST_CASE("the emulation refuses, with EINVAL and a reason, what it does not emulate") {
  EVQ_KQ_PLATFORM_NOTE();
  if (!kEmulated) {
    MESSAGE("a real kqueue supports these filters and flags: nothing to check here");
    return;
  }
#ifdef EVQ_KQUEUE_EMULATION
  Kqueue kq;
  evq::TcpPair pair = evq::tcp_pair();
  CHECK(answer(kq, change(1, EVFILT_SIGNAL, EV_ADD)) == EINVAL);
  CHECK_MESSAGE(std::strstr(kqueue_emulation_why(), "not emulated"), std::string(kqueue_emulation_why()));
  CHECK(answer(kq, change(1, EVFILT_PROC, EV_ADD)) == EINVAL);
#ifdef EV_FORCEONESHOT  // FreeBSD's flag; macOS has EV_UDATA_SPECIFIC at that bit, not emulated either
  CHECK(answer(kq, change(id(pair.server.get()), EVFILT_READ, EV_ADD | EV_FORCEONESHOT)) == EINVAL);
#else
  CHECK(answer(kq, change(id(pair.server.get()), EVFILT_READ, EV_ADD | EV_UDATA_SPECIFIC)) == EINVAL);
#endif
  CHECK(answer(kq, change(id(pair.server.get()), EVFILT_READ, EV_ADD, NOTE_LOWAT, 10)) == EINVAL);
  CHECK_MESSAGE(std::strstr(kqueue_emulation_why(), "NOTE_LOWAT"), std::string(kqueue_emulation_why()));
  // A regular file: FreeBSD watches it as a vnode; epoll cannot, so the emulation refuses it.
  std::FILE* file = std::tmpfile();
  REQUIRE(file);
  CHECK(answer(kq, change(id(::fileno(file)), EVFILT_READ, EV_ADD)) == EINVAL);
  MESSAGE("emulation: " << std::string(kqueue_emulation_why()));
  std::fclose(file);
  try {
    kq.apply(change(1, EVFILT_SIGNAL, EV_ADD));
    FAIL("apply() should throw");
  } catch (const std::system_error& e) {
    CHECK_MESSAGE(std::string(e.what()).find("kqueue emulation") != std::string::npos,
                  "the exception carries the emulation's reason: " << e.what());
  }
#endif
}

TEST_CASE("bad timer values are refused with EINVAL") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  CHECK(answer(kq, change(1, EVFILT_TIMER, EV_ADD, kNoteMilliseconds, -5)) == EINVAL);
#ifdef NOTE_MSECONDS
  // Two units at once are a contradiction where both are flags (FreeBSD: NOTE_MSECONDS is 0x2).
  CHECK(answer(kq, change(1, EVFILT_TIMER, EV_ADD, NOTE_SECONDS | NOTE_MSECONDS, 5)) == EINVAL);
#else
  MESSAGE(
      "no NOTE_MSECONDS on this system (macOS: milliseconds are the default unit), so there is no "
      "pair of unit flags to refuse; NOTE_SECONDS | NOTE_USECONDS stands in");
  CHECK(answer(kq, change(1, EVFILT_TIMER, EV_ADD, NOTE_SECONDS | NOTE_USECONDS, 5)) == EINVAL);
#endif
  CHECK_MESSAGE(answer(kq, change(1, EVFILT_TIMER, EV_DELETE)) == ENOENT,
                "the refused timers were not added");
}

TEST_CASE("kevent() on something that is not a kqueue, or on a closed one, fails with EBADF") {
  EVQ_KQ_PLATFORM_NOTE();
  struct kevent ev {};
  timespec zero{};
  errno = 0;
  CHECK(::kevent(-1, nullptr, 0, &ev, 1, &zero) == -1);
  CHECK(errno == EBADF);
  evq::TcpPair pair = evq::tcp_pair();
  errno = 0;
  CHECK(::kevent(pair.server.get(), nullptr, 0, &ev, 1, &zero) == -1);
  CHECK(errno == EBADF);
  int closed_fd;
  {
    Kqueue kq;
    closed_fd = kq.fd();
  }
  errno = 0;
  CHECK(::kevent(closed_fd, nullptr, 0, &ev, 1, &zero) == -1);
  CHECK(errno == EBADF);
}

TEST_CASE("an invalid timeout is refused with EINVAL") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue kq;
  struct kevent ev {};
  timespec bad{0, 2'000'000'000};
  errno = 0;
  CHECK(::kevent(kq.fd(), nullptr, 0, &ev, 1, &bad) == -1);
  CHECK(errno == EINVAL);
  timespec negative{-1, 0};
  CHECK(::kevent(kq.fd(), nullptr, 0, &ev, 1, &negative) == -1);
  CHECK(errno == EINVAL);
}

TEST_CASE("a new kqueue that reuses a closed one's number starts empty") {
  EVQ_KQ_PLATFORM_NOTE();
  int first_fd;
  {
    Kqueue first;
    first_fd = first.fd();
    first.apply(change(1, EVFILT_USER, EV_ADD));
    first.apply(change(1, EVFILT_USER, 0, NOTE_TRIGGER));
  }
  Kqueue second;
  if (second.fd() != first_fd) MESSAGE("the number was not reused this time; the check still holds");
  CHECK_MESSAGE(pending(second).empty(), "the closed kqueue's triggered event must not leak into a new one");
  CHECK(answer(second, change(1, EVFILT_USER, EV_DELETE)) == ENOENT);
}

TEST_CASE("closed kqueues give back their descriptors") {
  EVQ_KQ_PLATFORM_NOTE();
  { Kqueue warm_up; }
  { Kqueue warm_up_again; }  // the emulation frees a closed kqueue's helpers at the next kqueue()
  const int before = evq::test::open_fd_count();
  for (int i = 0; i < 20; ++i) {
    Kqueue kq;
    for (uintptr_t t = 1; t <= 5; ++t) kq.apply(change(t, EVFILT_TIMER, EV_ADD, NOTE_SECONDS, 60));
  }
  { Kqueue last; }
  if (kEmulated)
    MESSAGE(
        "emulation: close() cannot be intercepted, so a closed kqueue's timerfds and eventfd are "
        "freed when the next kqueue() is made (or its number is used again)");
  CHECK_MESSAGE(evq::test::open_fd_count() <= before + 1,
                "20 kqueues with 5 timers each were closed; descriptors open before: "
                    << before << ", now: " << evq::test::open_fd_count());
}

// FreeBSD's kqueue(2): a kqueue descriptor is readable while events are pending on it, so a kqueue can
// be watched by poll() or by another kqueue (data = how many are pending). The emulation cannot give
// that: its kqueue is an epoll instance whose pending events live in the emulation's own queue. It
// refuses the registration instead of accepting one that would never fire, and says so.
TEST_CASE("a kqueue watched by another kqueue: fires on a real kqueue, refused by the emulation") {
  EVQ_KQ_PLATFORM_NOTE();
  Kqueue inner, outer;
  inner.apply(change(1, EVFILT_USER, EV_ADD | EV_CLEAR));
  inner.apply(change(1, EVFILT_USER, 0, NOTE_TRIGGER));  // one event pending on `inner`
  const auto err = answer(outer, change(id(inner.fd()), EVFILT_READ, EV_ADD));
  if (kEmulated) {
#ifdef EVQ_KQUEUE_EMULATION
    MESSAGE("emulation: a kqueue in a kqueue is refused: " << std::string(kqueue_emulation_why()));
    CHECK_MESSAGE(err == EINVAL,
                  "the emulation must refuse it (not accept one that never fires); got " << err);
    CHECK(std::strstr(kqueue_emulation_why(), "kqueue") != nullptr);
#endif
    return;
  }
  REQUIRE_MESSAGE(err == 0, "a real kqueue accepts another kqueue's descriptor; got error " << err);
  auto events = pending(outer);
  REQUIRE_MESSAGE(events.size() == 1, "the inner kqueue has an event pending, so the outer one reports it");
  CHECK(events[0].ident == id(inner.fd()));
  CHECK(events[0].data >= 1);
}
