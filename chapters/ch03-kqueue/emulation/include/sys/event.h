/*
 * <sys/event.h> -- A KQUEUE EMULATION FOR LINUX. A TEACHING AID, NOT THE REAL THING.
 *
 * On FreeBSD, OpenBSD and macOS this header comes with the system and kqueue()/kevent() are system
 * calls. Linux has no kqueue, and Debian packages no libkqueue, so the evq project supplies this
 * small emulation, written over epoll(7), timerfd_create(2) and eventfd(2), so that chapter 3's code
 * (written exactly as for FreeBSD) builds and runs on Linux. It is used ONLY on Linux; on a BSD or
 * macOS the build uses the real header and never compiles this one.
 *
 * The emulation follows FreeBSD's kqueue(2) (`man 2freebsd kevent`) for the subset chapter 3 teaches:
 *   filters  EVFILT_READ, EVFILT_WRITE, EVFILT_TIMER, EVFILT_USER
 *   flags    EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT, EV_DISPATCH, EV_CLEAR,
 *            EV_RECEIPT (in); EV_EOF, EV_ERROR (out)
 * Every other filter or flag is refused with EINVAL (as an EV_ERROR entry or as kevent's errno), and
 * kqueue_emulation_why() says in words what was refused. Where Linux cannot give the value FreeBSD
 * gives (the listen backlog, send-buffer space, the socket error...), notes/ch03-kqueue.md says what
 * the emulation gives instead. The constants below have FreeBSD's values, or macOS's in the macOS
 * dialect (EVQ_KQUEUE_DIALECT_MACOS), which exists so that code meant for a Mac is tested here.
 *
 * Thread safety: one kqueue may be used by several threads at once (one thread waiting in kevent()
 * while another adds changes or triggers an EVFILT_USER event is the supported, tested case).
 */
#ifndef EVQ_KQUEUE_EMULATION_SYS_EVENT_H
#define EVQ_KQUEUE_EMULATION_SYS_EVENT_H

/* Treated like the system header it stands in for: C++ warns that the function kevent() hides the
 * struct kevent's constructor (C code and BSD headers do this on purpose; write `struct kevent`). */
#if defined(__GNUC__)
#pragma GCC system_header
#endif

#include <stdint.h>
#include <time.h>

/* Lets code (and tests) say "this is the emulation" without guessing from the platform. */
#define EVQ_KQUEUE_EMULATION 1

/* ===== What FreeBSD and macOS share: the same names with the same values. ===== */
#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)
#define EVFILT_AIO (-3)    /* not emulated */
#define EVFILT_VNODE (-4)  /* emulated over inotify: see the fflags below */
#define EVFILT_PROC (-5)   /* not emulated */
#define EVFILT_SIGNAL (-6) /* not emulated */
#define EVFILT_TIMER (-7)
#define EVFILT_FS (-9) /* not emulated */

/* Actions (in). */
#define EV_ADD 0x0001
#define EV_DELETE 0x0002
#define EV_ENABLE 0x0004
#define EV_DISABLE 0x0008
/* Behaviour of an event (in). */
#define EV_ONESHOT 0x0010
#define EV_CLEAR 0x0020
#define EV_RECEIPT 0x0040
#define EV_DISPATCH 0x0080
/* Returned (out). */
#define EV_EOF 0x8000
#define EV_ERROR 0x4000

/* EVFILT_READ / EVFILT_WRITE fflags. */
#define NOTE_LOWAT 0x0001 /* not emulated */

/* EVFILT_VNODE fflags (in: what to watch; out: what happened since the last delivery), emulated
 * over inotify on the descriptor's file. NOTE_REVOKE (revoke(2)) has no Linux counterpart and is
 * refused. */
#define NOTE_DELETE 0x0001 /* the file was unlinked (its link count fell) */
#define NOTE_WRITE 0x0002  /* its contents changed; for a directory, an entry came or went */
#define NOTE_EXTEND 0x0004 /* a regular file grew */
#define NOTE_ATTRIB 0x0008 /* its attributes changed (mode, owner, times) */
#define NOTE_LINK 0x0010   /* its link count rose; for a directory, a subdirectory came or went */
#define NOTE_RENAME 0x0020 /* it was renamed (moved) */
#define NOTE_REVOKE 0x0040 /* not emulated */

/* EVFILT_USER fflags. */
#define NOTE_FFNOP 0x00000000
#define NOTE_FFAND 0x40000000
#define NOTE_FFOR 0x80000000
#define NOTE_FFCOPY 0xc0000000
#define NOTE_FFCTRLMASK 0xc0000000
#define NOTE_FFLAGSMASK 0x00ffffff
#define NOTE_TRIGGER 0x01000000

#ifdef EVQ_KQUEUE_DIALECT_MACOS
/* ===== The macOS dialect (CMake: -DEVQ_KQUEUE_DIALECT=macos): what Apple's <sys/event.h> has
 * differently, so that code written for a Mac is built and tested here. ===== */
#define EVQ_KQUEUE_DIALECT "macOS"

#define EVFILT_MACHPORT (-8) /* not emulated (Mach) */
#define EVFILT_USER (-10)    /* -11 on FreeBSD */
#define EVFILT_VM (-12)      /* not emulated */
#define EVFILT_EXCEPT (-15)  /* not emulated */

#define EV_UDATA_SPECIFIC 0x0100 /* not emulated (FreeBSD has EV_FORCEONESHOT at this bit) */
#define EV_OOBAND 0x2000         /* not emulated */

/* EVFILT_TIMER fflags: there is NO NOTE_MSECONDS (milliseconds are what data means without a unit),
 * so NOTE_USECONDS is 0x2 (FreeBSD's NOTE_MSECONDS value!), and the absolute flag is NOTE_ABSOLUTE.
 * The coalescing hints are accepted and ignored. */
#define NOTE_SECONDS 0x00000001
#define NOTE_USECONDS 0x00000002
#define NOTE_NSECONDS 0x00000004
#define NOTE_ABSOLUTE 0x00000008
#define NOTE_LEEWAY 0x00000010     /* not emulated (needs ext[1], which macOS's kevent lacks) */
#define NOTE_CRITICAL 0x00000020   /* a coalescing hint: accepted, ignored */
#define NOTE_BACKGROUND 0x00000040 /* a coalescing hint: accepted, ignored */

/* 32 bytes: data is an intptr_t, and there is no ext[] (that is kevent64_s). */
struct kevent {
  uintptr_t ident; /* identifier for this event */
  int16_t filter;  /* filter for event */
  uint16_t flags;  /* general flags */
  uint32_t fflags; /* filter-specific flags */
  intptr_t data;   /* filter-specific data */
  void* udata;     /* opaque user data identifier */
};
#define EVQ_KEVENT_CLEAR_EXT_(kevp) ((void)0)

#else
/* ===== The FreeBSD dialect (the default): what FreeBSD's <sys/event.h> has differently. ===== */
#define EVQ_KQUEUE_DIALECT "FreeBSD"

#define EVFILT_PROCDESC (-8) /* not emulated */
#define EVFILT_LIO (-10)     /* not emulated */
#define EVFILT_USER (-11)
#define EVFILT_SENDFILE (-12) /* not emulated */
#define EVFILT_EMPTY (-13)    /* not emulated */

#define EV_FORCEONESHOT 0x0100 /* not emulated */

/* EVFILT_TIMER fflags: the unit of data (milliseconds when none is given), and absolute time. */
#define NOTE_SECONDS 0x00000001
#define NOTE_MSECONDS 0x00000002
#define NOTE_USECONDS 0x00000004
#define NOTE_NSECONDS 0x00000008
#define NOTE_ABSTIME 0x00000010

struct kevent {
  uintptr_t ident;      /* identifier for this event: a descriptor, a timer id, a user event id */
  short filter;         /* filter for event */
  unsigned short flags; /* action flags for kqueue */
  unsigned int fflags;  /* filter flag value */
  int64_t data;         /* filter data value */
  void* udata;          /* opaque user data, passed through unchanged */
  uint64_t ext[4];      /* extensions: copied through unchanged by the emulation */
};
#define EVQ_KEVENT_CLEAR_EXT_(kevp) \
  ((kevp)->ext[0] = 0, (kevp)->ext[1] = 0, (kevp)->ext[2] = 0, (kevp)->ext[3] = 0)

#endif /* EVQ_KQUEUE_DIALECT_MACOS */

#define EV_SET(kevp, a, b, c, d, e, f)    \
  do {                                    \
    struct kevent* ev_set_kevp_ = (kevp); \
    ev_set_kevp_->ident = (a);            \
    ev_set_kevp_->filter = (b);           \
    ev_set_kevp_->flags = (c);            \
    ev_set_kevp_->fflags = (d);           \
    ev_set_kevp_->data = (e);             \
    ev_set_kevp_->udata = (f);            \
    EVQ_KEVENT_CLEAR_EXT_(ev_set_kevp_);  \
  } while (0)

#ifdef __cplusplus
extern "C" {
#endif

/* Creates a kqueue. Returns a descriptor (close() it when done) or -1 with errno. */
int kqueue(void);

/* Applies `nchanges` changes, then returns up to `nevents` pending events, waiting up to `timeout`
 * (NULL: for ever; zero: just look). Returns the number of entries written to eventlist, or -1. */
int kevent(int kq, const struct kevent* changelist, int nchanges, struct kevent* eventlist, int nevents,
           const struct timespec* timeout);

/* EMULATION ONLY (no such function on a BSD): the reason, in words, for the last EINVAL/ENOTSUP-like
 * refusal made by kevent() on this thread, e.g. "EVFILT_VNODE is not emulated". Empty if none. */
const char* kqueue_emulation_why(void);

#ifdef __cplusplus
}
#endif

#endif /* EVQ_KQUEUE_EMULATION_SYS_EVENT_H */
