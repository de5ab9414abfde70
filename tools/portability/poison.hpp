// The portability gate's prelude (tools/portability_gate.py puts it before every file it checks).
//
// The gate compiles, syntax only, every source that a macOS or FreeBSD build compiles, with clang and
// libc++ (Apple's toolchain is clang and libc++ too) and glibc cut down to POSIX.1-2008 with its XSI
// part (-U_GNU_SOURCE -D_POSIX_C_SOURCE=200809L -D_XOPEN_SOURCE=700), which macOS and FreeBSD provide. Then the Linux-only names below are poisoned: using one
// in a file that is not Linux-gated in CMake is a compile error naming it. It is a proxy for a real
// Mac or BSD build, not one: see README, "Where each chapter runs".
#pragma once
#pragma GCC system_header  // "poisoning existing macro" is expected here; say nothing about it

#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <time.h>

// libc++ 14 on glibc calls a few GNU extensions inside its own headers (<mutex>, <locale>). With
// _GNU_SOURCE gone glibc no longer declares them, so they are declared here for the syntax check only
// (nothing is linked). Our own code never calls them.
extern "C" {
int pthread_cond_clockwait(pthread_cond_t*, pthread_mutex_t*, clockid_t, const struct timespec*) noexcept;
int pthread_mutex_clocklock(pthread_mutex_t*, clockid_t, const struct timespec*) noexcept;
int pthread_rwlock_clockrdlock(pthread_rwlock_t*, clockid_t, const struct timespec*) noexcept;
int pthread_rwlock_clockwrlock(pthread_rwlock_t*, clockid_t, const struct timespec*) noexcept;
// libc++'s <locale> on glibc: these are GNU there, and in <xlocale.h> on macOS and the BSDs.
int vasprintf(char**, const char*, va_list) noexcept;
long long strtoll_l(const char*, char**, int, locale_t) noexcept;
unsigned long long strtoull_l(const char*, char**, int, locale_t) noexcept;
float strtof_l(const char*, char**, locale_t) noexcept;
double strtod_l(const char*, char**, locale_t) noexcept;
long double strtold_l(const char*, char**, locale_t) noexcept;
}

// The headers that define some of the poisoned names come first, so their own definitions pass.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#pragma GCC poison accept4 pipe2 dup3 SOCK_NONBLOCK SOCK_CLOEXEC
#pragma GCC poison eventfd eventfd_read eventfd_write EFD_NONBLOCK EFD_CLOEXEC EFD_SEMAPHORE
#pragma GCC poison timerfd_create timerfd_settime timerfd_gettime TFD_NONBLOCK TFD_CLOEXEC
#pragma GCC poison epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait epoll_pwait2
#pragma GCC poison signalfd inotify_init inotify_init1 inotify_add_watch io_uring_setup
