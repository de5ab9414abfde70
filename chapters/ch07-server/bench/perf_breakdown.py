#!/usr/bin/env python3
"""perf_breakdown: where chapter 7's server spends its CPU, in a dozen named parts, from perf.

    python3 chapters/ch07-server/bench/perf_breakdown.py [--seconds 5] [--backend epoll] [-- ARGS]

It starts build/release/bin/ch07/http_server --serve (ARGS after "--" go to it), puts wrk on it
at 64 connections, records the server with `perf record -g` for --seconds while the load runs,
and prints the share of the samples in each part (system-call entry, TCP, the scheduler, the
pool's own code, ...), with the five hottest symbols of each. The parts are matched by symbol
name, so they are approximate: a kernel function shared by two paths counts in the first part
whose pattern it matches. Needs perf (Debian: linux-perf) and permission to profile (root, or
kernel.perf_event_paranoid <= 1); it says so if either is missing.

Nothing here asserts a figure: it is a measurement, printed, on a shared machine.
"""
import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_http import Server  # noqa: E402  (one way to start a server and learn its port)

# (part, pattern over the symbol name); the first match wins, so the narrow ones come first.
PARTS = [
    ("spinning before a sleep (the port's parker)", r"park_until|Parker::"),
    ("waking threads and switching (futex, scheduler)",
     r"futex|try_to_wake|wake_up|finish_task_switch|_raw_spin_unlock|schedule|__switch_to|pick_next|"
     r"enqueue_task|dequeue_task|select_task_rq|ttwu|psi_|update_curr|update_load|lll_lock_wake"),
    ("file-system lookups (canonical, stat, readlink)",
     r"link_path_walk|d_lookup|readlink|step_into|lockref|inode_permission|filename_lookup|lookup_fast|"
     r"set_root|strncpy_from_user|walk_component|getname|complete_walk|terminate_walk|vfs_statx|"
     r"cp_new_stat|filesystem|generic_permission|path_init|legitimize|newfstatat|statx"),
    ("TCP/IP and sockets (kernel)",
     r"tcp_|ip_|inet|skb|__dev_queue|sock_|net_rx|netif|loopback|_copy_from_iter|_copy_to_iter|"
     r"sendto|recvfrom|sys_recv|sys_send|release_sock|lock_sock|dst_|nf_|ipv4|__sk_|sk_"),
    ("epoll, io_uring, eventfd (kernel)", r"ep_|epoll|io_uring|eventfd|__io_|io_issue|io_submit"),
    ("system-call entry and exit", r"do_syscall_64|entry_SYSCALL|syscall_exit|syscall_return|exit_to_user"),
    ("malloc and free", r"malloc|free|_int_|tcache"),
    ("mutexes", r"pthread_mutex|lll_lock|lll_unlock|__GI___pthread"),
    ("clock reads", r"clock_gettime|vdso"),
    ("HTTP: parser, response, files, the connection loop", r"evq::http"),
    ("the pool, the port and the pump (user space)",
     r"evq::coro|evq::port|evq::completion|_Function_handler|_Rb_tree|_Hashtable|hashtable"),
]


def die(message):
    print(f"perf_breakdown: {message}", file=sys.stderr)
    sys.exit(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(ROOT / "build" / "release" / "bin" / "ch07"),
                    help="where http_server is (the release build: tools/lab bench ch07 builds it)")
    ap.add_argument("--seconds", type=int, default=5, help="seconds recorded under load (default 5)")
    ap.add_argument("--backend", default="epoll", help="the server's ch04 backend (default epoll)")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    ap.add_argument("server_args", nargs="*", help="more arguments for http_server (after --)")
    args = ap.parse_args()
    for tool, package in (("perf", "linux-perf"), ("wrk", "wrk")):
        if not shutil.which(tool):
            die(f"{tool} is not installed (apt-get install {package})")
    server = Path(args.bin) / "http_server"
    if not server.exists():
        die(f"{server} is missing: build the release preset (cmake --preset release && "
            "cmake --build build/release)")
    command = [str(server), "--serve", "--seconds", "3600", "--quiet", "--backend", args.backend,
               *args.server_args]
    server_proc = Server("http_server", command)  # bench_http's: starts it, waits for its port line
    proc = server_proc.proc
    try:
        url = f"http://127.0.0.1:{server_proc.port}/hello.txt"
        print(f"perf_breakdown: {' '.join(command)}; wrk at {args.connections} connections on {url}")
        subprocess.run(["wrk", "-t1", f"-c{args.connections}", "-d1s", url], capture_output=True)  # warm-up
        with tempfile.TemporaryDirectory(prefix="evq-perf-") as tmp:
            data = Path(tmp) / "perf.data"
            load = subprocess.Popen(["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds + 2}s", url],
                                    stdout=subprocess.PIPE, text=True)
            time.sleep(1)
            print(f"  recording the server for {args.seconds} s ...", flush=True)
            rec = subprocess.run(["perf", "record", "-F", "2000", "-g", "-p", str(proc.pid), "-o", str(data),
                                  "--", "sleep", str(args.seconds)], capture_output=True, text=True)
            wrk_out = load.communicate()[0]
            if rec.returncode != 0 or not data.exists():
                die("perf record failed (permission? kernel.perf_event_paranoid must be <= 1 unless root): "
                    + rec.stderr.strip()[-300:])
            report = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--sort", "sym",
                                     "--stdio", "-g", "none"], capture_output=True, text=True).stdout
    finally:
        server_proc.stop()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", wrk_out)
    print(f"  wrk: {float(rps.group(1)):.0f} requests/s while recorded" if rps else "  wrk: no rate reported")
    shares = {name: [] for name, _ in PARTS}
    shares["everything else"] = []
    for row in report.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+\[(.)\]\s+(.+?)\s*$", row)
        if not m:
            continue
        pct, symbol = float(m.group(1)), m.group(3)
        part = next((name for name, rx in PARTS if re.search(rx, symbol)), "everything else")
        shares[part].append((pct, symbol))
    print(f"\n{'share':>6}  part (hottest symbols)")
    for name, rows in sorted(shares.items(), key=lambda kv: -sum(p for p, _ in kv[1])):
        total = sum(p for p, _ in rows)
        top = ", ".join(s[:40] for _, s in sorted(rows, reverse=True)[:5])
        print(f"{total:5.1f}%  {name}\n         {top}")


if __name__ == "__main__":
    main()
