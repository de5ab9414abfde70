#!/usr/bin/env python3
"""Scores a chapter's labs from the JUnit XML of `ctest -L lab-chNN` (called by `tools/lab grade`).

Prints a table per lab with the failing tests and what they said, writes Gradescope's results.json,
and exits 1 when a point is lost. With --expect all-fail / all-pass it instead proves that the labs'
tests are not vacuous (every test fails on the skeleton) and that the solutions pass them all.
With --classroom it writes GitHub Classroom's autograding.json, one entry per lab test.
"""
import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import junit  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LAB_NAME = re.compile(r"^lab (ch\d\d)/([^:]+): (.*)$")
SOURCE_CASE = re.compile(r'TEST_CASE(?:_TEMPLATE)?\s*\(\s*"([^"]*\[\d+ pts?\])"')


def expected_tests(chapter: str) -> dict:
    """Lab tests named in the sources, so a test that never ran (a build error, a crash) still counts."""
    found = {}
    for d in (ROOT / "tests" / "labs").glob(f"{chapter}-*"):
        for f in sorted(d.glob("test_*.cpp")):
            lab = f.stem[len("test_"):]
            for name in SOURCE_CASE.findall(f.read_text()):
                found[(lab, name)] = junit.points(name)
    return found


def collect(chapter: str, junit_path: str, only_lab, only_test=None):
    rows = {}
    for key, pts in expected_tests(chapter).items():
        rows[key] = {"lab": key[0], "name": key[1], "points": pts, "status": "not run",
                     "output": "this test did not run (the build failed or the test program crashed)"}
    for r in junit.read(junit_path):
        m = LAB_NAME.match(r.name)
        if not m or m.group(1) != chapter:
            continue
        lab, name = m.group(2), m.group(3)
        rows[(lab, name)] = {"lab": lab, "name": name, "points": junit.points(name), "status": r.status,
                             "output": junit.failure_message(r.output) if r.status != "passed" else ""}
    if only_lab:
        rows = {k: v for k, v in rows.items() if k[0] == only_lab}
    if only_test:
        rows = {k: v for k, v in rows.items() if f"lab {chapter}/{k[0]}: {k[1]}" == only_test}
    return sorted(rows.values(), key=lambda row: (row["lab"], row["name"]))


def build_errors(log: str) -> str:
    lines = [l for l in Path(log).read_text(errors="replace").splitlines() if "error" in l.lower()] if Path(log).exists() else []
    return "\n".join(lines[:15]) or "(see the build log)"


def print_table(chapter, source, rows):
    print(f"\n{chapter} labs, built from {source}/{chapter}-*/")
    print(f"  {'lab':<26} {'tests':>5} {'passed':>6} {'points':>9}")
    print("  " + "-" * 50)
    labs = {}
    for row in rows:
        t = labs.setdefault(row["lab"], [0, 0, 0, 0])
        t[0] += 1
        t[3] += row["points"]
        if row["status"] == "passed":
            t[1] += 1
            t[2] += row["points"]
    for lab, (n, p, got, most) in labs.items():
        print(f"  {lab:<26} {n:>5} {p:>6} {got:>4} / {most:<3}")
    got = sum(t[2] for t in labs.values())
    most = sum(t[3] for t in labs.values())
    print("  " + "-" * 50)
    print(f"  {'total':<26} {sum(t[0] for t in labs.values()):>5} {sum(t[1] for t in labs.values()):>6} {got:>4} / {most:<3}")
    return got, most


def grade(args) -> int:
    rows = collect(args.chapter, args.junit, args.lab, args.test)
    if not rows:
        print(f"grade: no lab tests found for {args.chapter}", file=sys.stderr)
        return 2
    if args.build_ok == "0":
        print(f"\nThe {args.chapter} lab files in {args.source}/ did not compile:\n{build_errors(args.build_log)}")
    got, most = print_table(args.chapter, args.source, rows)

    if args.expect == "all-fail":
        vacuous = [r for r in rows if r["status"] == "passed"]
        for r in vacuous:
            print(f"  VACUOUS: '{r['lab']}: {r['name']}' passes on the untouched skeleton")
        print(f"prove-labs {args.chapter}: {len(rows) - len(vacuous)} of {len(rows)} lab tests fail on the skeleton"
              + ("" if not vacuous else " (every one must)"))
        return 1 if vacuous else 0
    if args.expect == "all-pass":
        bad = [r for r in rows if r["status"] != "passed"]
        for r in bad:
            print(f"  BROKEN: '{r['lab']}: {r['name']}' does not pass on the solution\n{r['output']}")
        print(f"prove-labs {args.chapter}: {len(rows) - len(bad)} of {len(rows)} lab tests pass on the solution")
        return 1 if bad else 0

    failing = [r for r in rows if r["status"] != "passed"]
    if failing:
        print("\nWhat the failing tests said (the expected behaviour is in the test's name and message):")
        for r in failing:
            print(f"\n  x {r['lab']}: {r['name']}")
            for line in (r["output"] or r["status"]).splitlines():
                print(f"      {line}")
    results = {
        "score": got,
        "max_score": most,
        "output": f"{args.chapter}: {got} / {most} points from {args.source}/",
        "tests": [{"name": f"{r['lab']}: {r['name']}", "score": r["points"] if r["status"] == "passed" else 0,
                   "max_score": r["points"], "status": "passed" if r["status"] == "passed" else "failed",
                   "output": r["output"]} for r in rows],
    }
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    Path(args.results).write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nscore: {got} / {most}   (Gradescope results: {args.results})")
    return 0 if got == most else 1


def classroom(out: str, builds) -> int:
    tests = []
    for arg in builds:
        chapter, _, build_dir = arg.partition("=")
        listing = subprocess.run(["ctest", "--test-dir", build_dir, "-N", "-L", f"^lab-{chapter}$",
                                  "--show-only=json-v1"], capture_output=True, text=True)
        names = [t["name"] for t in json.loads(listing.stdout or "{}").get("tests", [])] if listing.returncode == 0 else []
        if not names:  # not built here: fall back to the names in the sources
            names = [f"lab {chapter}/{lab}: {name}" for (lab, name) in expected_tests(chapter)]
        for name in names:
            tests.append({"name": name, "setup": "", "run": f"tools/lab grade {chapter} --test '{name}'",
                          "input": "", "output": "", "comparison": "included", "timeout": 10,  # minutes
                          "points": junit.points(name)})
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps({"tests": tests}, indent=2) + "\n")
    print(f"classroom: wrote {len(tests)} tests, {sum(t['points'] for t in tests)} points, to {out}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chapter")
    p.add_argument("--source", default="exercises")
    p.add_argument("--junit")
    p.add_argument("--lab")
    p.add_argument("--test", help="score this one test (its full ctest name)")
    p.add_argument("--expect", choices=["score", "all-fail", "all-pass"], default="score")
    p.add_argument("--build-log", default="")
    p.add_argument("--build-ok", default="1")
    p.add_argument("--results", default="results.json")
    p.add_argument("--classroom", metavar="OUT")
    p.add_argument("builds", nargs="*", help="with --classroom: CHAPTER=BUILD_DIR ...")
    args = p.parse_args()
    if args.classroom:
        return classroom(args.classroom, args.builds)
    if not args.chapter or not args.junit:
        p.error("--chapter and --junit are required")
    return grade(args)


if __name__ == "__main__":
    sys.exit(main())
