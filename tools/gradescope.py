#!/usr/bin/env python3
"""Gradescope autograders for the labs: one zip per chapter, and a way to run one here.

  gradescope.py package DEST [chNN ...]     DEST/evq-chNN-autograder.zip for each chapter with labs
  gradescope.py run [--root /autograder]    what run_autograder does (inside the autograder)
  gradescope.py check RESULTS [--expect full|zero|N] [--lab NAME=full|zero|timeout]
                                            results.json against Gradescope's specification
  gradescope.py mimic ZIP --root DIR --submission DIR [--mutate FILE=MUTATION] [--break FILE] [check options]
                                            unzip into DIR/source, run setup.sh once, copy the submission
                                            into DIR/submission, run run_autograder, check the results

Gradescope unpacks the zip into /autograder/source, runs setup.sh once (as root, on its Ubuntu image)
when it builds the image, then for every submission puts the student's files in
/autograder/submission, runs /autograder/run_autograder and reads /autograder/results/results.json
(see "Autograder Specifications", gradescope-autograders.readthedocs.io). EVQ_AUTOGRADER_ROOT moves
that root elsewhere, which is how `mimic` and .ci/run try an autograder on a machine with no
Gradescope.

The zip holds the repository without solutions/ and without the deliberately wrong solutions, but
with the hidden tests (tests/labs/<chapter>/hidden/): they are graded here and shown to students as
the instructor chooses (visibility, default after_published).
"""
import argparse
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import labs as labdefs  # noqa: E402

ROOT = labdefs.ROOT
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
LEFT_OUT = ["solutions", ".ci", ".github", "CONTRIBUTING.md", "tools/handout", "tools/handout.py"]

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu). It installs what
# the labs need and builds the chapter once from the untouched skeletons, so that grading a submission
# compiles only the student's files and the tests. Written by `tools/lab gradescope`.
set -euo pipefail
ROOT=${EVQ_AUTOGRADER_ROOT:-/autograder}
cd "$ROOT/source"
set -a; . ./autograder.conf; set +a
[ "$EVQ_CHAPTER" = ch01 ] || export EVQ_NO_WINE=1
tools/lab setup
# The book is built and tested with g++ 12. Ubuntu 22.04's own g++ is 11: take 12 beside it.
if command -v apt-get >/dev/null 2>&1 && [ "$(g++ -dumpversion | cut -d. -f1)" -lt 12 ]; then
  apt-get install -y -qq g++-12 >/dev/null
  echo "export CC=gcc-12 CXX=g++-12" >> autograder.conf
  export CC=gcc-12 CXX=g++-12
fi
rm -rf .pristine-exercises && cp -a exercises .pristine-exercises
tools/lab grade "$EVQ_CHAPTER" --build-only
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission, in /autograder. It always leaves results.json behind,
# whatever the submission does. Written by `tools/lab gradescope`.
ROOT=${EVQ_AUTOGRADER_ROOT:-/autograder}
cd "$ROOT/source" || exit 1
set -a; . ./autograder.conf; set +a
exec python3 tools/gradescope.py run --root "$ROOT"
"""


# ----------------------------------------------------------------------------------------------
# package
def export_head(dest: Path) -> None:
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "HEAD"], check=True,
                         capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(dest)


def zip_tree(src: Path, out: Path) -> int:
    """Zips the files of src at the archive's root (not a folder in it), keeping the executable bits."""
    n = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(src.rglob("*")):
            if f.is_file():
                info = zipfile.ZipInfo(str(f.relative_to(src)), date_time=(2026, 1, 1, 0, 0, 0))
                info.external_attr = (stat.S_IFREG | (0o755 if os.access(f, os.X_OK) else 0o644)) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, f.read_bytes())
                n += 1
    return n


def package(dest: Path, chapters: list, visibility: str) -> int:
    wanted = chapters or labdefs.chapters()
    unknown = [c for c in wanted if c not in labdefs.chapters()]
    if unknown:
        print(f"gradescope: no labs in {', '.join(unknown)}; chapters with labs: {', '.join(labdefs.chapters())}",
              file=sys.stderr)
        return 2
    dest.mkdir(parents=True, exist_ok=True)
    for chapter in wanted:
        stage = dest / f".stage-{chapter}"
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir()
        export_head(stage)
        for p in LEFT_OUT:
            target = stage / p
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        for d in (stage / "tests" / "labs").glob("ch*"):
            shutil.rmtree(d / "wrong", ignore_errors=True)
        (stage / "setup.sh").write_text(SETUP_SH)
        (stage / "run_autograder").write_text(RUN_AUTOGRADER)
        for f in ("setup.sh", "run_autograder"):
            (stage / f).chmod(0o755)
        (stage / "autograder.conf").write_text(
            f"# Read by setup.sh and run_autograder. EVQ_HIDDEN_VISIBILITY: {', '.join(VISIBILITIES)}\n"
            f"EVQ_CHAPTER={chapter}\nEVQ_HIDDEN_VISIBILITY={visibility}\n")
        out = dest / f"evq-{chapter}-autograder.zip"
        n = zip_tree(stage, out)
        shutil.rmtree(stage)
        labs = labdefs.labs(chapter)
        hidden = sum(1 for lab in labs for t in lab.tests if t.hidden)
        print(f"gradescope: {out} ({n} files): {len(labs)} labs, {sum(lab.points for lab in labs)} points "
              f"({hidden} hidden test{'' if hidden == 1 else 's'}, shown {visibility}); student files: "
              + ", ".join(f"exercises/{lab.chapter_dir}/{f}" for lab in labs for f in lab.student_files))
    return 0


# ----------------------------------------------------------------------------------------------
# run (inside the autograder)
def find_submitted(submission: Path, chapter_dir: str, name: str):
    """The student's copy of one lab file: exercises/<chapter>/<name> if the submission is a whole
    repository (GitHub), else a file of that name anywhere in it (an upload)."""
    exact = [p for p in submission.rglob(name) if p.is_file() and p.parent.name == chapter_dir]
    if exact:
        return min(exact, key=lambda p: len(p.parts)), ""
    anywhere = sorted((p for p in submission.rglob(name) if p.is_file()), key=lambda p: (len(p.parts), str(p)))
    if not anywhere:
        return None, ""
    note = f" (and {len(anywhere) - 1} other file(s) of that name, not used)" if len(anywhere) > 1 else ""
    return anywhere[0], note


def fallback_results(path: Path, message: str, seconds: float) -> None:
    path.write_text(json.dumps({"score": 0, "execution_time": int(seconds), "output": message,
                                "output_format": "text", "visibility": "visible", "tests": []}, indent=2) + "\n")


def run(root: Path) -> int:
    start = time.monotonic()
    source, submission, results = root / "source", root / "submission", root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.unlink(missing_ok=True)
    chapter = os.environ.get("EVQ_CHAPTER", "")
    visibility = os.environ.get("EVQ_HIDDEN_VISIBILITY", "after_published")
    labs = labdefs.labs(chapter)
    if not labs:
        fallback_results(results, f"autograder misconfigured: EVQ_CHAPTER='{chapter}' has no labs", 0)
        return 0
    pristine = source / ".pristine-exercises"
    if pristine.is_dir():  # every submission starts from the untouched skeletons
        shutil.rmtree(source / "exercises")
        shutil.copytree(pristine, source / "exercises")
    notes = []
    for lab in labs:
        for name in lab.student_files:
            found, extra = find_submitted(submission, lab.chapter_dir, name)
            target = source / "exercises" / lab.chapter_dir / name
            if found is None:
                notes.append(f"{name}: not in the submission, so {lab.name} is graded on the untouched skeleton.")
                continue
            shutil.copy(found, target)
            notes.append(f"{name}: graded from {found.relative_to(submission)}{extra}.")
    print("\n".join(notes), flush=True)
    env = dict(os.environ, EVQ_NO_INSTALL="1")
    if chapter != "ch01":
        env["EVQ_NO_WINE"] = "1"
    grade = subprocess.run(["tools/lab", "grade", chapter, "--results", str(results),
                            "--hidden-visibility", visibility, "--notes", "\n".join(notes)],
                           cwd=source, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           errors="replace")
    print(grade.stdout)
    if not results.exists():
        tail = "\n".join(grade.stdout.strip().splitlines()[-30:])
        fallback_results(results, "The autograder could not grade this submission:\n" + tail,
                         time.monotonic() - start)
    return 0


# ----------------------------------------------------------------------------------------------
# check
def check(path: Path, expect: str, lab_expect: list) -> int:
    """results.json against Gradescope's specification, then against what the caller expects."""
    problems = []
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        print(f"gradescope check: {path}: {e}", file=sys.stderr)
        return 1
    num = (int, float)
    if not isinstance(doc.get("score"), num):
        problems.append("top-level 'score' is missing or not a number")
    for key, kind in (("execution_time", int), ("output", str), ("tests", list)):
        if not isinstance(doc.get(key), kind):
            problems.append(f"'{key}' is missing or not a {kind.__name__}")
    for key in ("visibility", "stdout_visibility"):
        if key in doc and doc[key] not in VISIBILITIES:
            problems.append(f"'{key}' is '{doc[key]}', not one of {VISIBILITIES}")
    tests = doc.get("tests") or []
    for i, t in enumerate(tests):
        where = f"tests[{i}] ({t.get('name', '?')})"
        for key, kind in (("name", str), ("output", str)):
            if not isinstance(t.get(key), kind):
                problems.append(f"{where}: '{key}' missing or not a string")
        for key in ("score", "max_score"):
            if not isinstance(t.get(key), num):
                problems.append(f"{where}: '{key}' missing or not a number")
        if t.get("status") not in ("passed", "failed"):
            problems.append(f"{where}: 'status' must be passed or failed")
        if t.get("visibility", "visible") not in VISIBILITIES:
            problems.append(f"{where}: visibility '{t.get('visibility')}'")
        if isinstance(t.get("score"), num) and isinstance(t.get("max_score"), num) and t["score"] > t["max_score"]:
            problems.append(f"{where}: score above max_score")
    if tests and isinstance(doc.get("score"), num) and abs(sum(t.get("score", 0) for t in tests) - doc["score"]) > 1e-9:
        problems.append("the top-level score is not the sum of the tests' scores")
    score, most = doc.get("score", 0), sum(t.get("max_score", 0) for t in tests)
    if expect == "full" and (score != most or most == 0):
        problems.append(f"expected full marks, got {score} / {most}")
    if expect == "zero" and score != 0:
        problems.append(f"expected 0 points, got {score} / {most}")
    if expect.isdigit() and score != int(expect):
        problems.append(f"expected {expect} points, got {score} / {most}")
    for item in lab_expect:
        lab, _, want = item.partition("=")
        mine = [t for t in tests if lab in t.get("tags", [])]
        if not mine:
            problems.append(f"no tests of lab {lab} in the results")
            continue
        got = sum(t["score"] for t in mine)
        top = sum(t["max_score"] for t in mine)
        if want == "full" and got != top or want == "zero" and got != 0:
            problems.append(f"lab {lab}: expected {want}, got {got} / {top}")
        if want == "timeout" and not any("timed out after" in t["output"] for t in mine):
            problems.append(f"lab {lab}: expected a test reported as timed out, outputs were: "
                            + " | ".join(t["output"][:80] for t in mine))
        if want == "compile-error" and not ("did not compile" in doc.get("output", "") and got == 0):
            problems.append(f"lab {lab}: expected 0 points and its compile error in the top-level output")
    hidden = sum(1 for t in tests if t.get("visibility", "visible") != "visible")
    print(f"gradescope check: {path}: score {score} / {most}, {len(tests)} tests ({hidden} not visible at once), "
          f"execution_time {doc.get('execution_time')} s: " + ("OK" if not problems else "PROBLEMS"))
    for p in problems:
        print(f"    {p}")
    return 1 if problems else 0


def mimic(zip_path: Path, root: Path, submission_src: Path, mutations: list, broken: list, expect: str,
          lab_expect: list) -> int:
    """A directory laid out as Gradescope's /autograder, an autograder built in it once, a submission graded."""
    source = root / "source"
    stamp = root / ".zip"
    zip_id = f"{zip_path.resolve()} {zip_path.stat().st_mtime_ns}"
    if not (stamp.exists() and stamp.read_text() == zip_id):
        shutil.rmtree(root, ignore_errors=True)
        source.mkdir(parents=True)
        with zipfile.ZipFile(zip_path) as z:
            for info in z.infolist():
                z.extract(info, source)
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    (source / info.filename).chmod(mode)
        shutil.copy(source / "run_autograder", root / "run_autograder")
        print(f"==> mimic: {zip_path.name} unpacked into {source}; running setup.sh (once per image)", flush=True)
        env = dict(os.environ, EVQ_AUTOGRADER_ROOT=str(root))
        if subprocess.run(["bash", str(source / "setup.sh")], cwd=root, env=env).returncode:
            print("gradescope mimic: setup.sh failed", file=sys.stderr)
            return 1
        stamp.write_text(zip_id)
    submission = root / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    shutil.copytree(submission_src, submission)
    import mutate
    for item in mutations:  # a deliberately wrong solution, as a student would submit it
        name, _, mutation = item.partition("=")
        (submission / name).write_text(mutate.apply(submission / name, Path(mutation)))
    for name in broken:  # a compile error, as a student makes one
        with open(submission / name, "a") as f:
            f.write("\nint this_line_does_not_compile = ;\n")
    what = ", ".join([f"{n} with the mistake {Path(s).stem}" for n, _, s in (r.partition("=") for r in mutations)]
                     + [f"{n} broken" for n in broken]) or "as given"
    print(f"==> mimic: grading {submission_src} ({what})", flush=True)
    env = dict(os.environ, EVQ_AUTOGRADER_ROOT=str(root))
    run_log = subprocess.run([str(root / "run_autograder")], cwd=root, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, errors="replace")
    (root / "results").mkdir(exist_ok=True)
    (root / "results" / "stdout").write_text(run_log.stdout)
    table = [l for l in run_log.stdout.splitlines() if l.startswith("  ") and "/" in l and "lab" not in l][:8]
    for line in table:
        print(line)
    return check(root / "results" / "results.json", expect, lab_expect)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("package")
    k.add_argument("dest", type=Path)
    k.add_argument("chapters", nargs="*")
    k.add_argument("--hidden-visibility", default="after_published", choices=VISIBILITIES)
    r = sub.add_parser("run")
    r.add_argument("--root", type=Path, default=Path(os.environ.get("EVQ_AUTOGRADER_ROOT", "/autograder")))
    for name in ("check", "mimic"):
        c = sub.add_parser(name)
        if name == "check":
            c.add_argument("results", type=Path)
        else:
            c.add_argument("zip", type=Path)
            c.add_argument("--root", type=Path, required=True)
            c.add_argument("--submission", type=Path, required=True)
            c.add_argument("--mutate", action="append", default=[], metavar="FILE=MUTATION")
            c.add_argument("--break", dest="broken", action="append", default=[], metavar="FILE")
        c.add_argument("--expect", default="")
        c.add_argument("--lab", action="append", default=[], metavar="NAME=full|zero|timeout|compile-error")
    args = p.parse_args()
    if args.cmd == "package":
        return package(args.dest, args.chapters, args.hidden_visibility)
    if args.cmd == "run":
        return run(args.root)
    if args.cmd == "check":
        return check(args.results, args.expect, args.lab)
    return mimic(args.zip, args.root.resolve(), args.submission, args.mutate, args.broken, args.expect, args.lab)


if __name__ == "__main__":
    sys.exit(main())
