#!/usr/bin/env python3
"""The lab grader behind `tools/lab grade`, `tools/lab prove-labs` and the Gradescope autograder.

It builds each lab as its own target (a compile error in one lab costs that lab only), runs each
lab's tests through ctest with the per-test limit the build was configured with (EVQ_LAB_TIMEOUT),
prints a table in handout order and, per failing test, what should have happened and what did, and
writes results.json in Gradescope's format.

  grade.py check   --chapter ch02|all [--lab NAME] [--test LAB/ID]     # is the selection valid?
  grade.py grade   --build ch02=DIR ... --source exercises [--lab NAME] [--test LAB/ID]
                   [--results FILE] [--hidden-visibility after_published] [--build-only]
  grade.py prove   --build ch02=DIR ... --expect all-fail|all-pass|wrong-caught
  grade.py rubric  [--chapter chNN]      # every test with its id and points (a Markdown table)
  grade.py check-notes [--fix]           # the notes' lab sections: numbering, points, one shape, test tables

Exit status: 0 when every selected point was earned (or the proof holds), 1 when not, 2 on a usage
error. `tools/lab --help` has the commands a student and an instructor type.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # grading must not leave tools/__pycache__ in a student's clone
sys.path.insert(0, str(Path(__file__).resolve().parent))
import junit  # noqa: E402
import labs as labdefs  # noqa: E402

ROOT = labdefs.ROOT
JOBS = os.environ.get("EVQ_JOBS") or str(os.cpu_count() or 2)
DOCTEST_FAILURE = re.compile(r"^(?P<where>\S+?):(?P<line>\d+): (?:FATAL )?ERROR: (?P<what>.*)$")


# ----------------------------------------------------------------------------------------------
# What to grade
def select(chapter: str, lab_name=None, test_sel=None):
    """The labs (and optionally one test) chosen on the command line; raises ValueError with the
    valid choices when a name is wrong, before anything is built."""
    chapters = labdefs.chapters()
    if chapter == "all":
        chosen = chapters
    elif chapter in chapters:
        chosen = [chapter]
    else:
        raise ValueError(f"'{chapter}' has no labs; chapters with labs: {', '.join(chapters)} (or all)")
    found = [lab for c in chosen for lab in labdefs.labs(c)]
    if lab_name:
        names = [lab.name for lab in found]
        if lab_name not in names:
            raise ValueError(f"{chapter} has no lab '{lab_name}'; its labs, in handout order: {', '.join(names)}")
        found = [lab for lab in found if lab.name == lab_name]
    test = None
    if test_sel:
        lab_part, _, test_id = test_sel.rpartition("/")
        candidates = [(lab, t) for lab in found if lab_part in ("", lab.name) for t in lab.tests if t.id == test_id]
        if len(candidates) != 1:
            ids = [f"{lab.name}/{t.id}" for lab in found for t in lab.tests]
            why = "matches more than one test" if candidates else "is not a test id"
            raise ValueError(f"'{test_sel}' {why}; the ids are:\n  " + "\n  ".join(ids))
        lab, test = candidates[0]
        found = [lab]
    return found, test


# ----------------------------------------------------------------------------------------------
# Building and running
def build_target(build_dir: Path, target: str, log: Path):
    """Builds one target; returns (ok, the compiler's error lines)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        ok = subprocess.run(["cmake", "--build", str(build_dir), "--target", target, "-j", JOBS],
                            stdout=out, stderr=subprocess.STDOUT).returncode == 0
    return ok, "" if ok else compile_errors(log.read_text(errors="replace"))


def compile_errors(text: str, limit: int = 12) -> str:
    """The compiler's own error lines, paths made relative to the repository."""
    root = str(ROOT) + "/"
    lines = []
    for line in text.splitlines():
        if re.search(r"\berror\b|undefined reference|ld returned", line, re.I) and not line.startswith("FAILED:"):
            lines.append(line.replace(root, "").strip())
    if not lines:
        lines = [l.replace(root, "") for l in text.strip().splitlines()[-limit:]]
    return "\n".join(lines[:limit])


def ctest_regex(name: str) -> str:
    return "^" + re.sub(r"([][.*^$()+?{}|\\])", r"\\\1", name)


def run_tests(build_dir: Path, label: str, name_regex: str, junit_path: Path) -> dict:
    """Runs the matching ctest tests; returns {ctest name: junit.TestResult}."""
    junit_path.unlink(missing_ok=True)
    run = subprocess.run(["ctest", "--test-dir", str(build_dir), "-L", f"^{label}$", "-R", name_regex,
                          "-j", JOBS, "--output-junit", str(junit_path)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    # ctest's JUnit file says "fail" for a timeout too; its progress lines say "***Timeout".
    timed_out = set(re.findall(r"Test +#\d+: (.*?) \.*\*\*\*Timeout", run.stdout))
    results = {}
    for r in junit.read(junit_path):
        r.timed_out = r.name in timed_out
        results[r.name] = r
    return results


def lab_timeout(build_dir: Path) -> int:
    cache = build_dir / "CMakeCache.txt"
    m = re.search(r"^EVQ_LAB_TIMEOUT:STRING=(\d+)", cache.read_text(), re.M) if cache.exists() else None
    return int(m.group(1)) if m else 30


# ----------------------------------------------------------------------------------------------
# What a failed test said
def explain(result, timeout_s: int) -> str:
    """What should have happened and what did, from doctest's output: a few lines, no repetition."""
    if result.timed_out:
        return f"timed out after {timeout_s} s: an infinite loop or a missed wake-up?"
    out = result.output
    lines = out.splitlines()
    said = []
    for i, line in enumerate(lines):
        m = DOCTEST_FAILURE.match(line.strip())
        if not m:
            continue
        where = f"{Path(m.group('where')).name}:{m.group('line')}"
        what = m.group("what")
        values = logged = ""
        for follow in lines[i + 1:i + 8]:
            f = follow.strip()
            if f.startswith("values:"):
                values = f[len("values:"):].strip()
            elif f.startswith("logged:"):
                logged = f[len("logged:"):].strip()
            elif DOCTEST_FAILURE.match(f) or f.startswith("====="):
                break
        check = re.sub(r" is NOT correct!$", "", what)
        threw = re.match(r"test case THREW exception: (.*)$", what)
        crashed = re.match(r"test case CRASHED: (.*)$", what)
        if threw:
            said.append(f"{where}: the test stopped on an exception: {threw.group(1)}")
            break
        if crashed:
            said.append(f"{where}: the test program crashed: {crashed.group(1)}")
            break
        if values and values != check:
            said.append(f"{where}: expected {check}, but it was {values}")
        elif "threw" in what.lower():
            said.append(f"{where}: {what}")
        else:
            said.append(f"{where}: expected {check}, but it did not hold")
        if logged:
            said.append(f"  ({logged})")
        if len(said) >= 6:
            break
    if said:
        return "\n".join(said)
    if "Sanitizer" in out:
        first = next((l for l in lines if "Sanitizer" in l), "")
        return "the program stopped: " + first.strip()[:200]
    tail = [l for l in lines if l.strip()][-4:]
    return "failed without a doctest message (a crash?):\n" + "\n".join(tail)


# ----------------------------------------------------------------------------------------------
# Grading
def grade_lab(lab, build_dir: Path, only_test=None, build_only=False, prefix="lab", target=None) -> dict:
    """Builds and runs one lab; returns {"built", "errors", "rows"}."""
    target = target or f"lab-{lab.chapter}-{lab.name}-tests"
    log = build_dir / "grade-logs" / f"{target}.build.log"
    built, errors = build_target(build_dir, target, log)
    rows = []
    tests = [only_test] if only_test else lab.tests
    results = {}
    limit = lab_timeout(build_dir)
    if built and not build_only:
        ctest_prefix = f"{prefix} {lab.chapter}/{lab.name}: " if prefix == "lab" else prefix
        regex = ctest_regex(ctest_prefix + only_test.name) + "$" if only_test else ctest_regex(ctest_prefix)
        label = f"lab-{lab.chapter}" if prefix == "lab" else f"wrong-{lab.chapter}"
        results = run_tests(build_dir, label, regex, build_dir / "grade-logs" / f"{target}.xml")
        results = {name[len(ctest_prefix):]: r for name, r in results.items() if name.startswith(ctest_prefix)}
    for t in tests:
        r = results.get(t.name)
        if not built:
            status, message = "not built", "did not compile (see the lab's compile errors)"
        elif build_only:
            status, message = "not run", ""
        elif r is None:
            status, message = "not run", "this test did not run: the test program crashed before it, or was not found"
        elif r.status == "passed":
            status, message = "passed", ""
        else:
            status, message = ("timed out" if r.timed_out else "failed"), explain(r, limit)
        rows.append({"test": t, "status": status, "message": message,
                     "score": t.points if status == "passed" else 0})
    return {"lab": lab, "built": built, "errors": errors, "rows": rows}


def print_report(graded: list, source: str, quiet_pass=False):
    by_chapter = {}
    for g in graded:
        by_chapter.setdefault(g["lab"].chapter, []).append(g)
    course = [0, 0]
    for chapter, entries in by_chapter.items():
        print(f"\n{chapter} labs, built from {source}/{entries[0]['lab'].chapter_dir}/")
        print(f"  {'lab':<22} {'tests':>5} {'passed':>6} {'points':>9}")
        print("  " + "-" * 46)
        got = most = 0
        for g in entries:
            lab = g["lab"]
            rows = g["rows"]
            p = sum(r["score"] for r in rows)
            m = sum(r["test"].points for r in rows)
            got, most = got + p, most + m
            note = "" if g["built"] else "   did not compile"
            print(f"  {lab.number}. {lab.name:<19} {len(rows):>5} {sum(r['status'] == 'passed' for r in rows):>6} "
                  f"{p:>4} / {m:<3}{note}")
        print("  " + "-" * 46)
        print(f"  {'total':<22} {'':>5} {'':>6} {got:>4} / {most:<3}")
        course[0] += got
        course[1] += most
    if len(by_chapter) > 1:
        print(f"\ncourse total: {course[0]} / {course[1]} over {len(by_chapter)} chapters")

    failing = [g for g in graded if not g["built"] or any(r["status"] != "passed" for r in g["rows"])]
    if failing and not quiet_pass:
        print("\nWhat went wrong (each failing test once: what should have happened, and what did):")
        for g in failing:
            lab = g["lab"]
            print(f"\n  {lab.chapter} Lab {lab.number}, {lab.name}")
            if not g["built"]:
                print(f"    did not compile, so its {sum(r['test'].points for r in g['rows'])} points are lost; "
                      "the compiler said:")
                for line in g["errors"].splitlines():
                    print(f"        {line}")
                continue
            for r in g["rows"]:
                if r["status"] == "passed":
                    continue
                t = r["test"]
                print(f"    x {t.name}" + ("  (hidden test)" if t.hidden else ""))
                for line in r["message"].splitlines():
                    print(f"        {line}")
    return course


def gradescope_results(graded: list, source: str, seconds: float, hidden_visibility: str, notes: str) -> dict:
    """results.json as Gradescope's autograder specification describes it."""
    tests = []
    score = 0
    outputs = [notes] if notes else []
    for g in graded:
        lab = g["lab"]
        if not g["built"]:
            outputs.append(f"{lab.chapter} Lab {lab.number} ({lab.name}) did not compile:\n{g['errors']}")
        for i, r in enumerate(g["rows"], start=1):
            t = r["test"]
            score += r["score"]
            output = r["message"] if r["status"] != "passed" else "passed"
            if r["status"] == "not built":
                output = f"{lab.name} did not compile:\n{g['errors']}"
            tests.append({
                "name": f"{lab.chapter} Lab {lab.number} {lab.name}: {t.name}",
                "number": f"{lab.chapter[2:].lstrip('0')}.{lab.number}.{i}",
                "score": r["score"],
                "max_score": t.points,
                "status": "passed" if r["status"] == "passed" else "failed",
                "output": output,
                "visibility": hidden_visibility if t.hidden else "visible",
                "tags": [lab.chapter, lab.name] + (["hidden"] if t.hidden else []),
            })
    most = sum(t["max_score"] for t in tests)
    outputs.append(f"{score} / {most} points, graded from {source}/ (each lab built on its own).")
    return {
        "score": score,
        "execution_time": int(round(seconds)),
        "output": "\n\n".join(outputs),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def parse_builds(pairs) -> dict:
    builds = {}
    for p in pairs or []:
        chapter, _, d = p.partition("=")
        if not d:
            raise ValueError(f"--build wants CHAPTER=DIR, not '{p}'")
        builds[chapter] = Path(d).resolve()  # ctest reads relative paths from the build directory
    return builds


def cmd_grade(args) -> int:
    start = time.monotonic()
    found, test = select(args.chapter, args.lab, args.test)
    builds = parse_builds(args.build)
    if args.chapter == "all":  # a chapter that cannot be built here (ch01 without Wine) is left out, said once
        left_out = sorted({lab.chapter for lab in found if lab.chapter not in builds})
        if left_out:
            print(f"grade: not graded here: {', '.join(left_out)} (ch01 runs under Wine: not installed here, or "
                  "EVQ_NO_WINE=1; tools/lab setup installs it)")
        found = [lab for lab in found if lab.chapter in builds]
    graded = []
    for lab in found:
        if lab.chapter not in builds:
            raise ValueError(f"no build directory given for {lab.chapter}")
        if not args.quiet:
            print(f"==> {lab.chapter} Lab {lab.number}, {lab.name}: building"
                  + ("" if args.build_only else ", testing"), flush=True)
        graded.append(grade_lab(lab, builds[lab.chapter], only_test=test, build_only=args.build_only))
    if args.build_only:
        bad = [g["lab"] for g in graded if not g["built"]]
        for lab in bad:
            print(f"    {lab.chapter}/{lab.name} did not compile: its tests will fail")
        print(f"built {len(graded) - len(bad)} of {len(graded)} labs")
        return 0
    if test:  # one test, for a GitHub Classroom step: a line, and the exit status says it all
        r = graded[0]["rows"][0]
        lab = graded[0]["lab"]
        print(f"{lab.chapter} Lab {lab.number} {lab.name}: {test.name}: {r['status']}")
        if r["status"] == "not built":
            print(graded[0]["errors"])
        elif r["message"]:
            print(r["message"])
        return 0 if r["status"] == "passed" else 1
    got, most = print_report(graded, args.source)
    if args.results:
        results = gradescope_results(graded, args.source, time.monotonic() - start, args.hidden_visibility,
                                     args.notes or "")
        Path(args.results).parent.mkdir(parents=True, exist_ok=True)
        Path(args.results).write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nscore: {got} / {most}" + (f"   (results: {args.results})" if args.results else ""))
    return 0 if got == most else 1


# ----------------------------------------------------------------------------------------------
# Proof that the tests mean something
def cmd_prove(args) -> int:
    found, _ = select(args.chapter)
    builds = parse_builds(args.build)
    bad = 0
    if args.expect in ("all-fail", "all-pass"):
        want = "fail" if args.expect == "all-fail" else "pass"
        what = "skeleton" if want == "fail" else "reference solution"
        for lab in found:
            g = grade_lab(lab, builds[lab.chapter])
            if not g["built"]:  # a skeleton must compile too, or its failing tests prove nothing
                print(f"  BROKEN: the {what} of {lab.chapter}/{lab.name} does not compile:\n{g['errors']}")
                bad += 1
                continue
            wrong = [r for r in g["rows"] if (r["status"] == "passed") != (want == "pass")]
            for r in wrong:
                verb = "passes on the untouched skeleton" if want == "fail" else "fails on the reference solution"
                print(f"  {'VACUOUS' if want == 'fail' else 'BROKEN'}: {lab.chapter}/{lab.name}: "
                      f"'{r['test'].name}' {verb}" + ("" if want == "fail" else f"\n{r['message']}"))
            bad += len(wrong)
            total = len(g["rows"])
            print(f"  {lab.chapter} Lab {lab.number} {lab.name:<18} {total - len(wrong)} of {total} tests "
                  f"{'fail on the skeleton' if want == 'fail' else 'pass on the solution'}")
        return 1 if bad else 0

    # wrong-caught: every deliberately wrong solution loses points, in the tests it names.
    print(f"  {'wrong solution':<50} {'lost':>9}  caught by")
    for lab in found:
        if not lab.wrong:
            print(f"  {lab.chapter}/{lab.name}: NO wrong solutions under tests/labs/{lab.chapter_dir}/wrong/{lab.name}/")
            bad += 1
            continue
        for w in lab.wrong:
            mistake = w.path.stem
            prefix = f"wrong {lab.chapter}/{lab.name}/{mistake}: "
            g = grade_lab(lab, builds[lab.chapter], prefix=prefix,
                          target=f"wrong-{lab.chapter}-{lab.name}-{mistake}-tests")
            label = f"{lab.chapter}/{lab.name}/{mistake}"
            if not g["built"]:
                print(f"  {label:<50} BROKEN: it does not compile, so it proves nothing:\n{g['errors']}")
                bad += 1
                continue
            lost = sum(r["test"].points for r in g["rows"] if r["status"] != "passed")
            failed = [r["test"].id for r in g["rows"] if r["status"] != "passed"]
            missed = [i for i in w.caught_by if i not in failed]
            ok = lost > 0 and not missed
            print(f"  {label:<50} {lost:>3} / {lab.points:<3}  {', '.join(failed) or '-'}")
            if not ok:
                bad += 1
                print(f"      NOT CAUGHT as promised ({w.mistake}): these tests passed: {', '.join(missed) or '(all)'}")
    return 1 if bad else 0


# ----------------------------------------------------------------------------------------------
# The rubric, and the notes that describe it
NOTES_LAB = re.compile(r"^### Lab (\d+): .*\(`(\w+)`, (\d+) points?\)\s*$", re.M)


def cmd_rubric(args) -> int:
    """Every lab test with its id and points, from the sources: the rubric a course can publish."""
    found, _ = select(args.chapter)
    print("| chapter | lab | test id (`tools/lab grade chNN --test LAB/ID`) | points | hidden |")
    print("|---|---|---|---:|---|")
    for lab in found:
        for t in lab.tests:
            print(f"| {lab.chapter} | {lab.number}. {lab.name} | `{lab.name}/{t.id}` | {t.points} | "
                  f"{'yes' if t.hidden else ''} |")
    visible = sum(t.points for lab in found for t in lab.visible_tests())
    total = sum(lab.points for lab in found)
    print(f"\n{len(found)} labs, {sum(len(l.tests) for l in found)} tests: {visible} points in the handout, "
          f"{total} with the hidden tests")
    return 0


LAB_SHAPE = ["**Why.**", "**What you write.**", "**Builds on.**", "**Hints.**", "**Tests**"]
TESTS_MARK = re.compile(r"^<!-- lab-tests: (ch\d\d)/(\w+) -->$", re.M)


def tests_table(lab) -> str:
    """The table under a lab's **Tests**: its visible tests, as a student's copy has them."""
    rows = ["| test | points |", "|---|---:|"]
    rows += [f"| {labdefs.POINTS.sub('', t.name)} | {t.points} |" for t in lab.visible_tests()]
    return "\n".join(rows)


def lab_sections(text: str) -> list:
    """(start, end) of each '### Lab N' section of a notes file."""
    starts = [m.start() for m in re.finditer(r"^### Lab \d+:", text, re.M)]
    out = []
    for i, a in enumerate(starts):
        nxt = re.compile(r"^#{2,3} ", re.M).search(text, a + 1)
        out.append((a, nxt.start() if nxt else len(text)))
    return out


def cmd_check_notes(args) -> int:
    """Each chapter's notes number their labs as the build does, with the tests' points; every lab
    section has the one handout shape (Why, What you write, Builds on, Hints, Tests), and its test
    table is the lab's tests as they are. --fix rewrites the tables."""
    bad = 0
    for chapter in labdefs.chapters():
        labs = labdefs.labs(chapter)
        notes = next(iter((ROOT / "notes").glob(f"{chapter}-*.md")), None)
        if notes is None:
            print(f"check-notes: {chapter} has labs but no notes/{chapter}-*.md")
            bad += 1
            continue
        text = notes.read_text()
        rel = notes.relative_to(ROOT)
        said = [(int(n), name, int(pts)) for n, name, pts in NOTES_LAB.findall(text)]
        want = [(lab.number, lab.name, sum(t.points for t in lab.visible_tests())) for lab in labs]
        if said != want:
            bad += 1
            print(f"check-notes: {rel}: its lab headings say {said}, the build has {want} (number, name, points)")
            continue
        for (a, b), lab in reversed(list(zip(lab_sections(text), labs))):
            section = text[a:b]
            where = f"{rel}, Lab {lab.number} ({lab.name})"
            at = [section.find("\n" + part) for part in LAB_SHAPE]
            if -1 in at or at != sorted(at):
                bad += 1
                missing = [part for part, i in zip(LAB_SHAPE, at) if i == -1]
                print(f"check-notes: {where}: the handout shape is {' / '.join(LAB_SHAPE)}"
                      + (f"; missing {', '.join(missing)}" if missing else "; out of order"))
                continue
            m = TESTS_MARK.search(section)
            if not m or (m.group(1), m.group(2)) != (lab.chapter, lab.name):
                bad += 1
                print(f"check-notes: {where}: no '<!-- lab-tests: {lab.chapter}/{lab.name} -->' under **Tests**")
                continue
            table_at = m.end() + 1
            table_end = table_at
            lines = section[table_at:].split("\n")
            k = 0
            while k < len(lines) and lines[k].startswith("|"):
                k += 1
            shown = "\n".join(lines[:k])
            table_end = table_at + len(shown)
            wanted = tests_table(lab)
            if shown != wanted:
                if args.fix:
                    section = section[:table_at] + wanted + section[table_end:]
                    text = text[:a] + section + text[b:]
                else:
                    bad += 1
                    print(f"check-notes: {where}: the test table is not the lab's tests (tools/grade.py check-notes --fix)")
        if args.fix:
            notes.write_text(text)
    if not bad:
        print(f"check-notes: the notes of {len(labdefs.chapters())} chapters number their labs as the build does, "
              "each lab in the one handout shape, with its tests and points as they are")
    return 1 if bad else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--chapter", required=True)
    c.add_argument("--lab")
    c.add_argument("--test")
    g = sub.add_parser("grade")
    g.add_argument("--chapter", required=True)
    g.add_argument("--build", action="append", metavar="CHAPTER=DIR")
    g.add_argument("--source", default="exercises")
    g.add_argument("--lab")
    g.add_argument("--test", metavar="LAB/ID")
    g.add_argument("--results", metavar="FILE")
    g.add_argument("--hidden-visibility", default="after_published",
                   choices=["hidden", "after_due_date", "after_published", "visible"])
    g.add_argument("--notes", help="text to put first in results.json's output")
    g.add_argument("--build-only", action="store_true")
    g.add_argument("--quiet", action="store_true")
    v = sub.add_parser("prove")
    v.add_argument("--chapter", required=True)
    v.add_argument("--build", action="append", metavar="CHAPTER=DIR")
    v.add_argument("--expect", required=True, choices=["all-fail", "all-pass", "wrong-caught"])
    b = sub.add_parser("rubric")
    b.add_argument("--chapter", default="all")
    cn = sub.add_parser("check-notes")
    cn.add_argument("--fix", action="store_true")
    args = p.parse_args()
    try:
        if args.cmd == "rubric":
            return cmd_rubric(args)
        if args.cmd == "check-notes":
            return cmd_check_notes(args)
        if args.cmd == "check":
            found, test = select(args.chapter, args.lab, args.test)
            return 0
        if args.cmd == "grade":
            return cmd_grade(args)
        return cmd_prove(args)
    except ValueError as e:
        print(f"grade: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
