#!/usr/bin/env python3
"""bench_http: chapter 7's server against what a user would pick instead, in one run, with wrk.

    tools/lab bench ch07            (builds the release preset, then runs this)
    python3 chapters/ch07-server/bench/bench_http.py --bin build/release/bin/ch07 [--seconds 5]

Every server runs as its own process, serving the same 6-byte file (www/hello.txt) on 127.0.0.1:
  - nginx (Debian nginx-light), from a configuration this program writes: worker_processes = CPUs,
    access_log off, sendfile on, keepalive_requests high enough never to close;
  - asio_http_peer (Asio's C++20 coroutines) and uv_http_peer (a uv_loop per thread), both with
    the pool's thread count, both serving one prebuilt response (bench/peer_common.hpp);
  - bare_http_peer and uring_http_peer, not peers but yardsticks: one thread on raw epoll, and one
    on io_uring (multishot receive, one system call per batch), answering with the same prebuilt
    response and nothing else: the smallest servers that answer wrk;
  - chapter 7's http_server on each backend this machine has (epoll, the kqueue emulation, io_uring),
    and on the first of them with inline completions: with the pool at the queue, with the pump
    there, and with the port's concurrency at 1.
For each, wrk runs at 64 and at 1000 connections (after a warm-up), and the table reports
requests/s, wrk's p50 and p99 latency, the server's CPU per request and its context switches per
request (from /proc: every thread of the server and of its child processes), and wrk's own CPU per
request and how busy its threads were (wrk shares the machine's CPUs with the server). It ends with
the targets the chapter's notes set out, each printed met or NOT met, and writes the rows to --csv.

Nothing here asserts a duration: it is a measurement, printed, on a shared machine.
"""
import argparse
import csv
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
WWW = ROOT / "chapters" / "ch07-server" / "www"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def die(message):
    print(f"bench_http: {message}", file=sys.stderr)
    sys.exit(2)


def processes_of(pid):
    """pid and every descendant (nginx's workers), from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def usage(pid):
    """(CPU seconds, context switches) of a server: every thread of it and of its children."""
    cpu, switches = 0.0, 0
    for p in processes_of(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text()
            fields = fields[fields.rindex(")") + 2:].split()
            cpu += (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime
            for task in os.listdir(f"/proc/{p}/task"):
                status = Path(f"/proc/{p}/task/{task}/status").read_text()
                switches += sum(int(v) for v in re.findall(r"ctxt_switches:\s+(\d+)", status))
        except OSError:
            continue
    return cpu, switches


class Server:
    """A server process that prints "serving on 127.0.0.1 port N" (or listens where we said)."""

    def __init__(self, name, command, port=None, cwd=None, optional=False):
        """optional: a server this machine may not run raises RuntimeError instead of ending the run."""
        self.name = name
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     cwd=cwd, start_new_session=True)
        self.port = port
        deadline = time.time() + 20
        said = ""  # what it printed before its port line
        while self.port is None:
            line = self.proc.stdout.readline()
            said += line
            if not line:
                self.proc.wait()
                if optional:
                    raise RuntimeError(said.strip()[-200:] or "it exited before saying its port")
                die(f"{name} exited before saying its port: {' '.join(command)}")
            m = re.search(r"port (\d+)", line)
            if m:
                self.port = int(m.group(1))
            if time.time() > deadline:
                die(f"{name} did not say its port within 20 s")

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_nginx(workdir, workers):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not nginx:
        return None, "nginx is not installed (apt-get install nginx-light; tools/lab bench does it)"
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(f"""
worker_processes {workers};
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    types {{ text/plain txt; }}
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {WWW};
    }}
}}
""")
    server = Server("nginx", [nginx, "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"], port=port)
    # nginx prints nothing: wait until it accepts.
    import socket
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, ""
        except OSError:
            time.sleep(0.05)
    server.stop()
    return None, "nginx did not start: " + (workdir / "error.log").read_text()[-400:]


def parse_wrk(out):
    def to_us(text):
        m = re.match(r"([\d.]+)(us|ms|s)", text)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    errors = re.search(r"Socket errors:(.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "requests": int(total.group(1)) if total else 0,
        "p50_us": to_us(p50.group(1)) if p50 else float("nan"),
        "p99_us": to_us(p99.group(1)) if p99 else float("nan"),
        "errors": (errors.group(1).strip() if errors else "") + (f" non-2xx {non2xx.group(1)}" if non2xx else ""),
    }


def measure(server, connections, seconds, wrk_threads):
    url = f"http://127.0.0.1:{server.port}/hello.txt"
    subprocess.run(["wrk", f"-t{wrk_threads}", f"-c{connections}", "-d1s", url], capture_output=True)  # warm-up
    cpu0, sw0 = usage(server.proc.pid)
    # wrk is the only child reaped during the run (the servers are reaped when they stop), so the
    # children's rusage grows by wrk's own CPU time: what the load generator spent on its side.
    wrk0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    run = subprocess.run(["wrk", f"-t{wrk_threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True)
    elapsed = time.monotonic() - started
    wrk1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu1, sw1 = usage(server.proc.pid)
    row = parse_wrk(run.stdout)
    n = max(row["requests"], 1)
    row["cpu_us_per_req"] = (cpu1 - cpu0) * 1e6 / n
    row["switches_per_req"] = (sw1 - sw0) / n
    wrk_cpu = (wrk1.ru_utime + wrk1.ru_stime) - (wrk0.ru_utime + wrk0.ru_stime)
    row["wrk_us_per_req"] = wrk_cpu * 1e6 / n
    row["wrk_busy"] = wrk_cpu / (elapsed * wrk_threads)  # 1.0: every wrk thread ran all the time
    row["wrk_threads"] = wrk_threads
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(ROOT / "build" / "release" / "bin" / "ch07"),
                    help="where http_server, asio_http_peer and uv_http_peer are (the release build)")
    ap.add_argument("--seconds", type=int, default=5, help="seconds of load per measurement (default 5)")
    ap.add_argument("--connections", default="64,1000", help="comma-separated connection counts")
    ap.add_argument("--csv", help="write the rows here")
    ap.add_argument("--only", help="comma-separated server names to measure (e.g. nginx,ch07 epoll)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        die("wrk is not installed (apt-get install wrk; tools/lab setup does it)")
    binaries = Path(args.bin)
    for b in ("http_server", "asio_http_peer", "uv_http_peer", "bare_http_peer"):
        if not (binaries / b).exists():
            die(f"{binaries / b} is missing: build the release preset (tools/lab bench ch07)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1000 connections, both sides
    cpus = os.cpu_count() or 1
    threads = 2 * cpus  # the pool's default: twice the port's concurrency (chapter 5)
    connections = [int(c) for c in args.connections.split(",")]
    load = open("/proc/loadavg").read().split()[:3]
    print(f"bench_http: {cpus} CPUs, load average {' '.join(load)}; wrk {args.seconds} s per row; "
          f"file {WWW / 'hello.txt'} (6 bytes)")

    backends = []
    for b in ("epoll", "kqueue", "io_uring"):
        ok = subprocess.run([str(binaries / "http_server"), "--backend", b, "--quiet"],
                            capture_output=True, text=True)
        if ok.returncode == 0:
            backends.append(b)
        else:
            print(f"(backend {b} not measured: {ok.stdout.strip()[-120:]} {ok.stderr.strip()[-120:]})")

    rows = []
    with tempfile.TemporaryDirectory(prefix="evq-bench-nginx-") as tmp:
        servers = []
        nginx, why = start_nginx(Path(tmp), cpus)
        if nginx:
            servers.append(("nginx", f"{cpus} workers", nginx))
        else:
            print(f"(nginx not measured: {why})")
        servers.append(("asio", f"{threads} threads", Server(
            "asio", [str(binaries / "asio_http_peer"), "--file", str(WWW / "hello.txt"), "--threads", str(threads)])))
        servers.append(("libuv", f"{threads} loops", Server(
            "libuv", [str(binaries / "uv_http_peer"), "--file", str(WWW / "hello.txt"), "--threads", str(threads)])))
        # Not a peer: a yardstick. One thread on raw epoll answering with the same prebuilt response
        # and nothing else: what the smallest server gets in this run.
        servers.append(("bare epoll", "1 thread, no library", Server(
            "bare epoll", [str(binaries / "bare_http_peer"), "--file", str(WWW / "hello.txt")])))
        # The same on io_uring, where it was built (liburing) and the kernel runs it (6.0+).
        if (binaries / "uring_http_peer").exists():
            try:
                servers.append(("bare io_uring", "1 thread, liburing", Server(
                    "bare io_uring", [str(binaries / "uring_http_peer"), "--file", str(WWW / "hello.txt")],
                    optional=True)))
            except RuntimeError as e:
                print(f"(bare io_uring not measured: {e})")
        for b in backends:
            servers.append((f"ch07 {b}", f"{threads} threads, port {cpus}", Server(
                f"ch07 {b}", [str(binaries / "http_server"), "--backend", b, "--serve", "--seconds", "3600",
                              "--quiet", "--threads", str(threads)])))
        # The same server with reads and writes completed at once where they can, on the pool
        # thread (Pool::Options::complete_inline): what that is worth, measured beside it.
        if backends:
            servers.append((f"ch07 {backends[0]} inline", f"{threads} threads, port {cpus}", Server(
                f"ch07 {backends[0]} inline", [str(binaries / "http_server"), "--backend", backends[0],
                                              "--serve", "--seconds", "3600", "--quiet", "--threads",
                                              str(threads), "--inline"])))
            # The same again with chapter 5's pump thread at the ch04 queue instead of the pool's
            # own threads (the default wherever the backend allows): what the hand-off costs.
            servers.append((f"ch07 {backends[0]} inline pump", f"{threads} threads, port {cpus}", Server(
                f"ch07 {backends[0]} inline pump", [str(binaries / "http_server"), "--backend", backends[0],
                                                   "--serve", "--seconds", "3600", "--quiet", "--threads",
                                                   str(threads), "--inline", "--driver", "pump"])))
            # The same as "inline" with the port's concurrency at 1: one pool thread runs at a time,
            # the others wait in the port (chapter 5's concurrency rule), and the other CPU is wrk's.
            servers.append((f"ch07 {backends[0]} inline c1", f"{threads} threads, port 1", Server(
                f"ch07 {backends[0]} inline c1", [str(binaries / "http_server"), "--backend", backends[0],
                                                 "--serve", "--seconds", "3600", "--quiet", "--threads",
                                                 str(threads), "--inline", "--concurrency", "1"])))
        if args.only:
            wanted = {w.strip() for w in args.only.split(",")}
            unknown = wanted - {name for name, _, _ in servers}
            if unknown:
                die(f"--only: no server named {', '.join(sorted(unknown))} "
                    f"(there are: {', '.join(name for name, _, _ in servers)})")
            for name, _, server in servers:
                if name not in wanted:
                    server.stop()
            servers = [s for s in servers if s[0] in wanted]
        try:
            for c in connections:
                for name, shape, server in servers:
                    wrk_threads = 1 if c <= 64 else 2
                    print(f"  measuring {name} at {c} connections ...", flush=True)
                    row = measure(server, c, args.seconds, wrk_threads)
                    row.update(server=name, shape=shape, connections=c)
                    rows.append(row)
        finally:
            for _, _, server in servers:
                server.stop()

    print()
    print(f"{'server':<23} {'shape':<22} {'conns':>5} {'req/s':>10} {'vs nginx':>8} {'p50 us':>8} {'p99 us':>8} "
          f"{'CPU us/req':>10} {'ctxsw/req':>9} {'wrk us/req':>10} {'wrk busy':>8}  errors")
    for c in connections:
        base = next((r for r in rows if r["server"] == "nginx" and r["connections"] == c), None)
        for r in (r for r in rows if r["connections"] == c):
            ratio = r["rps"] / base["rps"] if base and base["rps"] else float("nan")
            r["vs_nginx"] = ratio
            print(f"{r['server']:<23} {r['shape']:<22} {c:>5} {r['rps']:>10.0f} {ratio:>8.2f} {r['p50_us']:>8.0f} "
                  f"{r['p99_us']:>8.0f} {r['cpu_us_per_req']:>10.2f} {r['switches_per_req']:>9.3f} "
                  f"{r['wrk_us_per_req']:>10.2f} {r['wrk_busy']:>7.0%}  {r['errors']}")

    print("\ntargets (64 connections unless said):")
    def find(server, c):
        return next((r for r in rows if r["server"] == server and r["connections"] == c), None)
    def target(text, ok):
        print(f"  {'met    ' if ok else 'NOT met'}  {text}")
    ch07 = [r for r in rows if r["server"].startswith("ch07") and r["connections"] == 64]
    best = max(ch07, key=lambda r: r["rps"]) if ch07 else None
    nginx64, asio64, uv64 = find("nginx", 64), find("asio", 64), find("libuv", 64)
    if best and nginx64:
        target(f"{best['server']} >= 1.0x nginx in requests/s: {best['rps'] / nginx64['rps']:.2f}x",
               best["rps"] >= nginx64["rps"])
        target(f"{best['server']} p99 <= nginx's: {best['p99_us']:.0f} us vs {nginx64['p99_us']:.0f} us",
               best["p99_us"] <= nginx64["p99_us"])
    # The most requests/s wrk's threads could ask for, had they run all the time at the lowest CPU
    # cost per request any server let them have in this run: a bar above it was out of reach in this
    # run (a server that let wrk spend less per request would raise it).
    at64 = [r for r in rows if r["connections"] == 64 and r["requests"] > 0 and r["wrk_us_per_req"] > 0]
    cheapest = min(at64, key=lambda r: r["wrk_us_per_req"]) if at64 else None
    ceiling = cheapest["wrk_threads"] * 1e6 / cheapest["wrk_us_per_req"] if cheapest else float("inf")
    for peer in (asio64, uv64):
        if best and peer:
            bar = 1.2 * peer["rps"]
            beyond = (f"; the bar, {bar:.0f}/s, is beyond the ~{ceiling:.0f}/s that {cheapest['wrk_threads']} "
                      f"wrk thread(s) could ask for here at {cheapest['wrk_us_per_req']:.2f} us of their CPU per "
                      f"request") if bar > ceiling else ""
            target(f"{best['server']} >= 1.2x {peer['server']}: {best['rps'] / peer['rps']:.2f}x{beyond}",
                   best["rps"] >= 1.2 * peer["rps"])
    # What the smallest servers got against the same bars: where they fall short, a server that
    # does nothing but answer missed the bar too, in this run. (Yardsticks, not verdicts.)
    for name in ("bare epoll", "bare io_uring"):
        bare64 = find(name, 64)
        for peer in (asio64, uv64):
            if bare64 and peer:
                print(f"  ({name}, a smallest server: {bare64['rps'] / peer['rps']:.2f}x {peer['server']} at "
                      f"{bare64['cpu_us_per_req']:.2f} us of CPU per request, against {peer['cpu_us_per_req']:.2f})")
    # What a bar leaves a server on CPUs it shares with wrk: at B requests/s the two together can
    # spend at most CPUs/B seconds per request, and wrk takes its share first (the least it spent
    # per request in this run). A server that needs more CPU per request than that cannot reach B
    # here, however it is written; only a machine with CPUs for wrk alone can tell it apart.
    if cheapest:
        for peer in (asio64, uv64):
            if peer:
                # [snippet bar-leaves]
                bar = 1.2 * peer["rps"]
                left = cpus * 1e6 / bar - cheapest["wrk_us_per_req"]  # µs of CPU a request may cost the server
                # [/snippet bar-leaves]
                leanest = min(at64, key=lambda r: r["cpu_us_per_req"])
                print(f"  (1.2x {peer['server']} is {bar:.0f}/s: on {cpus} CPUs shared with wrk at "
                      f"{cheapest['wrk_us_per_req']:.2f} us per request, that leaves a server at most "
                      f"{left:.2f} us of CPU per request; the leanest here, {leanest['server']}, spent "
                      f"{leanest['cpu_us_per_req']:.2f})")
    # Every row has the same thread count (the pool's default), so any ch07 row can stand for the
    # port's pool here; the one with the fewest switches is named, and what it costs is printed.
    calmest = min(ch07, key=lambda r: r["switches_per_req"]) if ch07 else None
    for peer in (asio64, uv64):
        if calmest and peer:
            cost = "" if calmest is best else f" (its requests/s: {calmest['rps'] / best['rps']:.2f}x {best['server']}'s)"
            target(f"{calmest['server']} fewer context switches per request than {peer['server']} "
                   f"(same thread count): {calmest['switches_per_req']:.3f} vs {peer['switches_per_req']:.3f}{cost}",
                   calmest["switches_per_req"] < peer["switches_per_req"])
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["server", "shape", "connections", "rps", "vs_nginx", "p50_us", "p99_us",
                                              "cpu_us_per_req", "switches_per_req", "wrk_us_per_req", "wrk_busy",
                                              "requests", "errors"])
            w.writeheader()
            for r in rows:
                w.writerow({k: r.get(k, "") for k in w.fieldnames})
        print(f"\nrows written to {args.csv}")


if __name__ == "__main__":
    main()
