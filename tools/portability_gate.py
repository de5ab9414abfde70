#!/usr/bin/env python3
"""The portability gate: do the sources a macOS or FreeBSD build compiles use only what those have?

usage: tools/portability_gate.py [--build build/dev] [--list] [FILE ...]

It takes the compile commands of a configured Linux build (compile_commands.json), keeps the files a
macOS/BSD build also compiles (everything but the Linux-gated parts: chapter 2, the kqueue emulation's
own sources, the epoll and io_uring backends, the hostile suite, the benchmarks), and checks each
with clang and libc++ (Apple's toolchain is clang and libc++ too, and libc++ 14 lacks std::jthread as
Apple's does), glibc cut down to POSIX.1-2008 (with XSI), and the Linux-only names of tools/portability/poison.hpp
poisoned. Defines that only a Linux build has (the epoll and io_uring backends) are dropped.
<sys/event.h> comes from the emulation's header, standing in for the system's.

Exit status 1 if any file fails, with the compiler's message; 0 with one line per file checked.
"""
import json
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRELUDE = ROOT / "tools" / "portability" / "poison.hpp"

# Linux-only by CMake: never built on macOS or FreeBSD.
LINUX_ONLY = (
    "chapters/ch02-epoll/", "tests/ch02-epoll/", "tests/labs/ch02-epoll/", "solutions/ch02-epoll/",
    "exercises/ch02-epoll/", "chapters/ch03-kqueue/emulation/src/", "chapters/ch04-completion/src/epoll_queue.cpp",
    "chapters/ch04-completion/src/uring_queue.cpp", "chapters/ch04-completion/src/uring_multishot_echo.cpp",
    "chapters/ch04-completion/demos/multishot_echo.cpp", "chapters/ch04-completion/demos/two_ways.cpp",
    "tests/ch04-completion/test_multishot_echo.cpp",
    "chapters/ch04-completion/bench/", "tests/hostile/", "chapters/ch05-event-queue/bench/",
    "chapters/ch07-server/bench/",  # the HTTP benchmark's peers: it measures through /proc
    "tests/ch07-server/test_yardsticks.cpp",  # runs those peers (and a seccomp filter)
    "appendix/event-ports/", "tests/appendix-ports/",  # an emulation over epoll, built on Linux only
)
LINUX_DEFINES = ("-DEVQ_COMPLETION_HAVE_EPOLL", "-DEVQ_COMPLETION_HAVE_URING", "-DFMT_SHARED")
# EVQ_PORTABILITY_GATE: a header with a Linux-only branch beside a portable one (ch05's address wait,
# src/wait_on_address.hpp) compiles the branch macOS and FreeBSD take; __linux__ itself must stay, or
# libc++ on glibc finds no thread API.
FLAGS = ["-std=c++20", "-stdlib=libc++", "-fsyntax-only", "-U_GNU_SOURCE", "-D_POSIX_C_SOURCE=200809L",
         "-DEVQ_PORTABILITY_GATE",
         "-D_XOPEN_SOURCE=700",
         "-Wall", "-Wextra", "-include", str(PRELUDE)]


def portable_commands(build: Path):
    """(file, args) for each file a macOS/BSD build compiles, one command per file (the kqueue one
    where a file is built once per backend)."""
    db = json.loads((build / "compile_commands.json").read_text())
    chosen = {}
    for entry in db:
        path = Path(entry["file"]).resolve()
        rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else None
        if rel is None or rel.startswith(LINUX_ONLY) or not rel.endswith(".cpp"):
            continue
        args = shlex.split(entry["command"]) if "command" in entry else entry["arguments"]
        keep = []
        skip = False
        for a in args[1:]:
            if skip:
                skip = False
                continue
            if a in ("-o", "-c", "-MF", "-MT"):
                skip = True
                continue
            if a.startswith(("-I", "-isystem", "-D")) and not a.startswith(LINUX_DEFINES):
                keep.append(a)
            elif a == "-isystem":
                skip = False
        backend = next((a for a in keep if a.startswith("-DEVQ_CONFORMANCE_BACKEND")), "")
        if rel in chosen and "kqueue" not in backend.lower():
            continue  # a file built per backend: the kqueue build is the one macOS has
        if any(d in a for a in args for d in ("EVQ_CONFORMANCE_BACKEND=evq::completion::EpollQueue",
                                             "EVQ_CONFORMANCE_BACKEND=evq::completion::UringQueue")):
            continue
        chosen[rel] = (entry["directory"], keep)
    return chosen


def main(argv) -> int:
    build = ROOT / "build" / "dev"
    files, list_only = [], False
    while argv:
        a = argv.pop(0)
        if a == "--build":
            build = Path(argv.pop(0)).resolve()
        elif a == "--list":
            list_only = True
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            files.append(Path(a).resolve().relative_to(ROOT).as_posix())
    if not (build / "compile_commands.json").is_file():
        print(f"portability gate: no {build}/compile_commands.json: configure the build first "
              "(cmake --preset dev)", file=sys.stderr)
        return 2
    chosen = portable_commands(build)
    if files:
        missing = [f for f in files if f not in chosen]
        if missing:
            print(f"portability gate: not a file a macOS/BSD build compiles: {', '.join(missing)}", file=sys.stderr)
            return 2
        chosen = {f: chosen[f] for f in files}
    if list_only:
        print("\n".join(sorted(chosen)))
        return 0
    failed = []
    for rel, (directory, keep) in sorted(chosen.items()):
        cmd = ["clang++", *FLAGS, *keep, str(ROOT / rel)]
        r = subprocess.run(cmd, cwd=directory, capture_output=True, text=True)
        if r.returncode != 0:
            failed.append(rel)
            print(f"FAILED  {rel}")
            print("\n".join(r.stderr.splitlines()[:30]))
        else:
            print(f"ok      {rel}")
    print(f"portability gate: {len(chosen) - len(failed)} of {len(chosen)} file(s) use only what macOS and "
          f"FreeBSD have (clang + libc++, POSIX.1-2008, Linux-only names poisoned)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
