#!/usr/bin/env python3
"""Every citation and pointer in the repository leads somewhere a clone has (run by .ci/run).

It fails, naming file and line, on:
  1. a citation of a text a clone does not contain: the project's private source texts
     (the project's numbered source texts), anything outside the repository (a path above the repository), planning documents
     ("DESIGN.md", "the design notes") or a tracker ("the issue's figure"). Published sources are
     cited by name from notes/references.md instead;
  2. a Markdown link to a file that does not exist, or to a #heading the target does not have;
  3. a pointer from code or notes into the notes, the README or CONTRIBUTING.md,
     `notes/ch02-epoll.md, "Heading"` or `README, "Heading"`, whose heading is not there (the words
     must be the heading's, or its start up to punctuation: "Lab 2" names "Lab 2: an edge-...");
  4. a repository path in `backticks` in the notes or README (`tests/labs/ch02-epoll/...`) that does
     not exist. Paths with placeholders (chNN, *, <name>) are not checked.

  check_citations.py [--self-test]     --self-test breaks each rule once and checks that it is caught
"""
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT = (".md", ".cpp", ".hpp", ".h", ".txt", ".cmake", ".py", ".sh", ".yml", ".json")
FORBIDDEN = [
    (re.compile(r"\breference/\d{3}"), "a private source text: cite the published source (notes/references.md)"),
    (re.compile(r"\.\./shared\b"), "a path outside the repository"),
    (re.compile(r"\bDESIGN\.md\b|\bthe design notes\b"), "a planning document a clone does not have"),
    (re.compile(r"\bthe issue'?s\b", re.I), "a tracker a reader cannot see"),
]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
POINTER = re.compile(r"\b(notes/[\w.-]+\.md|README(?:\.md)?|CONTRIBUTING\.md)\s*(?:,|\()\s*[\"'\u201c]([^\"'\u201d]{3,80})[\"'\u201d]")
TICKED_PATH = re.compile(r"`((?:chapters|common|tests|tools|notes|exercises|solutions|cmake|\.ci|\.github)/[^`\s]*)`")
PLACEHOLDER = re.compile(r"chNN|NN|\*|<|>|\{|\}|\.\.\.|\$")
SKIP = {"tools/check_citations.py"}
# Paths a student handout has and a clone does not: written by tools/lab handout.
GENERATED = {".github/workflows/classroom.yml"}


def tracked(root: Path) -> list:
    out = subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, text=True).stdout.split()
    if not out:  # not a git checkout (a test tree): every file
        out = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "build" not in p.parts]
    return [f for f in out if f.endswith(TEXT) and f not in SKIP and not f.startswith("build/")]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    h = re.sub(r"`", "", heading.strip().lower())
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def headings(path: Path) -> list:
    text = path.read_text(errors="replace")
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return [m.group(1).strip() for m in re.finditer(r"^#{1,6}\s+(.*?)\s*#*\s*$", text, re.M)]


def anchors(path: Path) -> set:
    found = {slug(h) for h in headings(path)}
    found |= set(re.findall(r"<a id=\"([^\"]+)\"", path.read_text(errors="replace")))
    return found


def normal(s: str) -> str:
    return re.sub(r"[`*_]", "", s).strip().lower()


def names(heading: str, pointer: str) -> bool:
    """A pointer names a heading by its words, or by its start up to punctuation ("Lab 2")."""
    h, p = normal(heading), normal(pointer)
    return h == p or (h.startswith(p) and not h[len(p)].isalnum() and h[len(p)] != " ") or h.startswith(p + " (")


def check(root: Path) -> list:
    problems = []
    files = tracked(root)
    for rel in files:
        path = root / rel
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        in_fence = False
        for n, line in enumerate(lines, start=1):
            where = f"{rel}:{n}"
            for pattern, why in FORBIDDEN:
                if pattern.search(line):
                    problems.append(f"{where}: '{pattern.search(line).group(0)}': {why}")
            for target_file, heading in POINTER.findall(line):
                if PLACEHOLDER.search(target_file):
                    continue  # a pattern ("notes/chNN-name.md"), not a pointer
                target = root / ("README.md" if target_file.startswith("README") else target_file)
                if not target.exists():
                    problems.append(f"{where}: points to {target_file}, which does not exist")
                elif not any(names(h, heading) for h in headings(target)):
                    problems.append(f"{where}: points to {target_file}, \"{heading}\", a heading it does not have")
            if rel.endswith(".md"):
                if line.startswith("```"):
                    in_fence = not in_fence
                if in_fence:
                    continue
                for target in LINK.findall(line):
                    if re.match(r"^[a-z]+:", target):
                        continue  # a web address
                    file_part, _, anchor = target.partition("#")
                    dest = (path.parent / file_part).resolve() if file_part else path
                    if not dest.exists():
                        problems.append(f"{where}: links to {target}: no such file")
                    elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                        problems.append(f"{where}: links to {target}: {dest.name} has no heading or anchor '{anchor}'")
                for ticked in TICKED_PATH.findall(line):
                    if PLACEHOLDER.search(ticked) or ticked.startswith("solutions/") and not (root / "solutions").exists():
                        continue
                    p = ticked.rstrip("/").split(":")[0]
                    if p not in GENERATED and not (root / p).exists():
                        problems.append(f"{where}: `{ticked}` is not a path in the repository")
    return problems


def self_test() -> int:
    """Breaks each rule once in a scratch tree and checks that each is reported."""
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "notes").mkdir()
        (t / "notes" / "a.md").write_text("# A\n\n## Real heading\n\nok\n")
        (t / "README.md").write_text("# R\n\n## Writing a test\n")
        cases = {
            "private text": "As " + "refer" + "ence/002 says.",  # split, so this file cites nothing itself
            "outside path": "See ../" + "shared/x.",
            "tracker": "This is the issue's figure.",
            "missing file link": "[x](nowhere.md)",
            "missing anchor": "[x](a.md#not-there)",
            "bad pointer": 'see notes/a.md, "Unreal heading"',
            "bad path": "`tests/labs/none.cpp`",
        }
        for name, text in cases.items():
            (t / "notes" / "b.md").write_text(f"# B\n\n{text}\n")
            if not check(t):
                print(f"check_citations self-test: '{name}' was NOT caught")
                return 1
        (t / "notes" / "b.md").write_text('# B\n\n[x](a.md#real-heading), notes/a.md, "Real heading"; '
                                          'README, "Writing a test"\n')
        if check(t):
            print(f"check_citations self-test: a correct file was reported: {check(t)}")
            return 1
    print(f"check_citations self-test: each of the {len(cases)} kinds of broken citation is caught, "
          "and correct ones pass")
    return 0


def main() -> int:
    if "--self-test" in sys.argv:
        return self_test()
    problems = check(ROOT)
    for p in problems:
        print(p)
    n = len(tracked(ROOT))
    if problems:
        print(f"check_citations: {len(problems)} citation(s) lead nowhere in a clone ({n} files read)")
        return 1
    print(f"check_citations: every citation, link and pointer in {n} files leads to something a clone has")
    return 0


if __name__ == "__main__":
    sys.exit(main())
