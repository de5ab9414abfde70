#!/usr/bin/env python3
"""Writes a student handout: a clean repository a course can hand out (`tools/lab handout DIR`).

From the committed tree (HEAD) it keeps the chapters, notes, exercises and visible lab tests, and
leaves out what is the instructor's: solutions/, the labs' hidden tests and deliberately wrong
solutions, the project's own CI, its contributor guide and the instructor-only tools. It then adds
what a student repository needs: a README with the student's commands only (tools/handout/README.md),
a .gitignore for build outputs and caches, a .ci/run that grades, and the GitHub Classroom workflow
(.github/workflows/classroom.yml, one step per lab test).
"""
import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import labs as labdefs  # noqa: E402

ROOT = labdefs.ROOT
TEMPLATES = ROOT / "tools" / "handout"

# Paths (relative to the repository) a student copy never has.
INSTRUCTOR_ONLY = ["solutions", ".ci", ".github", "CONTRIBUTING.md", "tools/handout", "tools/handout.py",
                   "tools/gradescope.py"]


def instructor_paths(dest: Path) -> list:
    found = [dest / p for p in INSTRUCTOR_ONLY]
    for d in (dest / "tests" / "labs").glob("ch*"):
        found += [d / "wrong", d / "hidden"]
    return found


def export_head(dest: Path) -> None:
    """The committed tree, as `git archive HEAD` gives it: never a file the author has not committed."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "HEAD"], check=True,
                         capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(dest)


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: handout.py DEST", file=sys.stderr)
        return 2
    dest = Path(sys.argv[1])
    if dest.exists():
        print(f"handout: {dest} exists; choose a new directory", file=sys.stderr)
        return 2
    print(f"==> writing a student handout to {dest}")
    dest.mkdir(parents=True)
    export_head(dest)
    removed = 0
    for p in instructor_paths(dest):
        if p.is_dir():
            shutil.rmtree(p)
            removed += 1
        elif p.exists():
            p.unlink()
            removed += 1
    shutil.copy(TEMPLATES / "README.md", dest / "README.md")
    shutil.copy(TEMPLATES / "gitignore", dest / ".gitignore")
    (dest / ".ci").mkdir()
    shutil.copy(TEMPLATES / "ci-run", dest / ".ci" / "run")
    (dest / ".ci" / "run").chmod(0o755)
    # The workflow is written by the copy's own tools, from the copy's own tests (no hidden ones).
    subprocess.run([sys.executable, str(dest / "tools" / "classroom.py"), "write",
                    str(dest / ".github" / "workflows" / "classroom.yml")], check=True)
    leaks = [str(p.relative_to(dest)) for p in instructor_paths(dest) if p.exists() and p.name != ".ci"
             and p.name != ".github"]
    if leaks:
        print(f"handout: instructor files left in the copy: {', '.join(leaks)}", file=sys.stderr)
        return 1
    labs = [lab for lab in labdefs.all_labs()]
    print(f"    removed {removed} instructor paths (solutions/, hidden and wrong lab files, the project's CI)")
    print(f"    {len(labs)} labs, {sum(len(l.visible_tests()) for l in labs)} visible tests, "
          f"{sum(t.points for l in labs for t in l.visible_tests())} points")
    print(f"    next: cd {dest} && git init -b main && git add -A && git commit -m 'evq labs' and push it as the")
    print("    assignment's starter (template) repository; see README, Labs, for GitHub Classroom and Gradescope.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
