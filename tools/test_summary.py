#!/usr/bin/env python3
"""Prints one table for every ctest run of `tools/lab test`, and the closing line "N passed, M failed".

usage: tools/test_summary.py [--figures hostile-figures.tsv] BUILD=junit.xml [BUILD=junit.xml ...]
Test names carry their chapter and kind: "ch02: ...", "ch02-demo: ...", "lab ch02/timers: ...",
"ch01 (wine): ...", "ch03 (kqueue emulation): ...", "hostile ch02 echo_level: ...".
With --figures, the hostile-client suite's measured figures are printed first, one row per case.
"""
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import junit  # noqa: E402

KIND = [
    (re.compile(r"^hostile (ch\d\d)\b"), "hostile-client suite"),
    (re.compile(r"^lab (ch\d\d)/"), "lab tests"),
    (re.compile(r"^(ch\d\d)-demo: "), "demo runs"),
    (re.compile(r"^(ch\d\d)\b[^:]*: "), "tests"),
]


def classify(name: str):
    for pattern, kind in KIND:
        if m := pattern.match(name):
            where = re.match(r"^(?:hostile ch\d\d [^:(]*)?(?:ch\d\d )?(\(([^)]*)\))", name)
            return m.group(1), kind + (f" ({where.group(2)})" if where else "")
    return "other", "tests"


def print_figures(path: str) -> None:
    """The hostile suite's figures: what each case cost each server, measured from /proc."""
    rows = [line.rstrip("\n").split("\t") for line in Path(path).read_text().splitlines() if line.strip()]
    if not rows:
        return
    rows.sort(key=lambda r: (r[0], r[1]))
    head = ["server", "case", "fds before -> after", "peak RSS", "CPU", "note"]
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(5)]
    print()
    print("hostile-client suite: what each case cost each server (measured from /proc)")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)) + "  " + head[5])
    print("-" * min(130, sum(widths) + 12))
    for r in rows:
        r = (r + [""] * 6)[:6]
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) + "  " + r[5])


def main(argv) -> int:
    if argv[:1] == ["--figures"]:
        if len(argv) > 1 and Path(argv[1]).is_file():
            print_figures(argv[1])
        argv = argv[2:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    table = defaultdict(lambda: [0, 0, 0])
    failed_names, total = [], [0, 0, 0]
    for arg in argv:
        build, _, path = arg.partition("=")
        for r in junit.read(path):
            chapter, kind = classify(r.name)
            row = table[(chapter, build, kind)]
            i = {"passed": 0, "failed": 1, "skipped": 2}[r.status]
            row[i] += 1
            total[i] += 1
            if r.status == "failed":
                failed_names.append(f"[{build}] {r.name}")
    print()
    print(f"{'chapter':<8} {'build':<13} {'what':<42} {'passed':>6} {'failed':>6} {'skipped':>7}")
    print("-" * 87)
    for (chapter, build, kind), (p, f, s) in sorted(table.items()):
        print(f"{chapter:<8} {build:<13} {kind:<42} {p:>6} {f:>6} {s:>7}")
    print("-" * 87)
    for name in failed_names:
        print(f"FAILED {name}")
    builds = ", ".join(a.partition("=")[0] for a in argv)
    print(f"tests run in: {builds}")
    line = f"{total[0]} passed, {total[1]} failed"
    if total[2]:
        line += f", {total[2]} skipped"
    print(line)
    return 1 if total[1] or total[0] == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
