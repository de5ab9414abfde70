#!/usr/bin/env python3
"""Every chapter's notes have the one shape CONTRIBUTING.md lists, so a reader who knows one chapter
knows where everything is in the next.

    # Chapter N — <title>
    ## The problem
    ## The syscall flow
    ## A walk through the code
    ## Pitfalls, and the test that shows each
    ## Labs
    ## Try it
    ## What you learned
    ## Challenges
    ## References

in that order; a chapter may add sections of its own between them (chapter 5's "The rules, and the
test that shows each", its "Design note"). A pitfalls section is a table, or a list, whose every row or
item names the test that shows it (a quoted test name, a test file, a benchmark or the hostile suite).

`tools/check_notes_shape.py` checks notes/ch*.md; `--self-test` shows on scratch copies that the check
fails on a missing section, on sections out of order, on a wrong title and on a pitfall with no test.
"""
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = ["The problem", "The syscall flow", "A walk through the code", "Pitfalls, and the test that shows each",
            "Labs", "Try it", "What you learned", "Challenges", "References"]
TITLE = re.compile(r"^# Chapter (\d+) — \S")
# What names "the test that shows it" in a pitfalls row.
SHOWS = re.compile(r'"[^"]+"|`[\w/.-]*test[\w/.-]*`|bench_\w+|hostile', re.IGNORECASE)


def problems_of(note: Path) -> list:
    lines = note.read_text().splitlines()
    where = note.relative_to(ROOT) if note.is_relative_to(ROOT) else note
    found = []
    if not lines or not (m := TITLE.match(lines[0])):
        found.append(f"{where}:1: the title must read '# Chapter N — <title>'")
    elif note.name.startswith("ch") and int(m[1]) != int(note.name[2:4]):
        found.append(f"{where}:1: the title says chapter {m[1]}, the file is {note.name}")
    headings = [(i + 1, l[3:].strip()) for i, l in enumerate(lines) if l.startswith("## ")]
    names = [h for _, h in headings]
    at = -1
    for want in REQUIRED:
        if want not in names:
            found.append(f"{where}: no '## {want}' section")
            continue
        pos = names.index(want)
        if pos < at:
            found.append(f"{where}:{headings[pos][0]}: '## {want}' comes before a section it must follow "
                         f"(the order: {', '.join(REQUIRED)})")
        at = max(at, pos)
    if "Pitfalls, and the test that shows each" in names:
        start = headings[names.index("Pitfalls, and the test that shows each")][0]
        rows, items = [], []
        for i in range(start, len(lines)):
            if lines[i].startswith("## "):
                break
            if lines[i].startswith("|") and not re.match(r"^\|[\s|:-]+\|$", lines[i]):
                rows.append((i + 1, lines[i]))
            elif re.match(r"^[*-] ", lines[i]):
                items.append([i + 1, lines[i]])
            elif items and lines[i].startswith("  ") and not rows:
                items[-1][1] += " " + lines[i].strip()  # an item's continuation lines
        if len(rows) < 2 and not items:
            found.append(f"{where}:{start}: the pitfalls section has neither a table nor a list")
        for n, row in rows[1:]:  # the first row is the header
            cells = [c.strip() for c in row.strip("|").split("|")]
            if not SHOWS.search(cells[-1]):
                found.append(f"{where}:{n}: a pitfall whose last column names no test: {cells[0]}")
        for n, item in items if len(rows) < 2 else []:
            if not SHOWS.search(item):
                found.append(f"{where}:{n}: a pitfall that names no test: {item[:60]}")
    return found


def check(notes: list) -> int:
    problems = [p for n in notes for p in problems_of(n)]
    for p in problems:
        print(f"check_notes_shape: {p}", file=sys.stderr)
    print(f"check_notes_shape: {len(notes)} chapter notes, {'one shape' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


def self_test() -> int:
    good = (ROOT / "notes" / "ch02-epoll.md").read_text()
    pitfalls = "## Pitfalls, and the test that shows each"
    cases = [
        ("the chapter as it is passes", good, True),
        ("a missing section fails", good.replace("## Challenges", "## More things"), False),
        ("sections out of order fail", good.replace("## Try it", "## Try later").replace(
            "## References", "## Try it\n\n## References"), False),
        ("a wrong title fails", good.replace("# Chapter 2 —", "# ch02 ·", 1), False),
        ("a pitfall with no test fails", good.replace(pitfalls, pitfalls + "\n\n| a | b | c |\n|---|---|---|\n"
                                                      "| x | y | nothing named |", 1), False),
    ]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for what, text, should_pass in cases:
            note = Path(tmp) / "ch02-epoll.md"
            note.write_text(text)
            passed = not problems_of(note)
            ok = passed == should_pass
            failures += not ok
            print(f"check_notes_shape self-test: {'ok  ' if ok else 'FAIL'} {what}")
    return 1 if failures else 0


def main() -> int:
    if "--self-test" in sys.argv[1:]:
        return self_test()
    notes = [Path(a).resolve() for a in sys.argv[1:]] or sorted((ROOT / "notes").glob("ch[0-9][0-9]-*.md"))
    return check(notes)


if __name__ == "__main__":
    sys.exit(main())
