#!/usr/bin/env python3
"""Keeps the code shown in notes/*.md identical to the real, tested sources.

A source file marks a region:            The notes show it with a marker, a caption and a fenced block:

    // [snippet poll-wait]                     <!-- snippet: chapters/ch02-epoll/src/poll.cpp#poll-wait -->
    ...code...                                 *From [chapters/ch02-epoll/src/poll.cpp](...), `poll-wait`:*
    // [/snippet poll-wait]                    ```cpp
                                               ...code...
                                               ```

The marker is invisible once rendered; the caption is what tells a reader which file the code is cut
from, with a link to it.

`tools/snippets.py` (check) fails when any block differs from its region, names a missing file or
region, or a region is marked twice; `tools/snippets.py --fix` rewrites the blocks from the sources.
Marker lines themselves never appear in the notes; the region is dedented by its common indent.
A region may be marked `// [snippet get-take hide=traced]`: every line of it that is only a call to
`traced...(...)` (bookkeeping a reader does not need, such as ch05's trace recording) is left out of the
notes, and the caption says so.

`tools/snippets.py --self-test` shows on a scratch copy that the check passes on a matching block and
fails on a changed block, a missing region, a wrong caption and an unclosed region.
"""
import argparse
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTE_MARK = re.compile(r"^<!-- snippet: (?P<path>[^#\s]+)#(?P<name>[\w.-]+) -->\s*$")
OPEN = re.compile(r"^\s*(//|#|;)\s*\[snippet (?P<name>[\w.-]+)(?: hide=(?P<hide>\w+))?\]\s*$")
CLOSE = re.compile(r"^\s*(//|#|;)\s*\[/snippet (?P<name>[\w.-]+)\]\s*$")
FENCE = re.compile(r"^(```+)(\w*)\s*$")
CAPTION = re.compile(r"^\*From \[")


def caption(note: Path, path: str, name: str, hidden: str = "") -> str:
    """The visible line above a snippet: its file, linked relative to the note, and its region."""
    import os
    link = os.path.relpath(ROOT / path, note.parent)
    left_out = f" (its `{hidden}` lines left out)" if hidden else ""
    return f"*From [{path}]({link}), `{name}`{left_out}:*"


def hidden_call(line: str, name: str) -> bool:
    """Whether a source line is nothing but a call to `name...(...)`, e.g. `c.traced_locked(Kind::got);`."""
    return re.match(rf"^\s*(\w+(\.|->))*{name}\w*\(.*\);\s*(//.*)?$", line) is not None


def regions(path: Path) -> dict:
    """All marked regions of a source file: name -> (text, hidden call name). Raises on unbalanced markers."""
    found, open_at, lines = {}, {}, path.read_text().splitlines()
    for i, line in enumerate(lines):
        if m := OPEN.match(line):
            name = m["name"]
            if name in open_at or name in found:
                raise ValueError(f"{path}:{i+1}: snippet '{name}' is marked twice")
            open_at[name] = (i, m["hide"] or "")
        elif m := CLOSE.match(line):
            name = m["name"]
            if name not in open_at:
                raise ValueError(f"{path}:{i+1}: [/snippet {name}] closes nothing")
            start, hide = open_at.pop(name)
            body = [l for l in lines[start + 1:i] if not OPEN.match(l) and not CLOSE.match(l)
                    and not (hide and hidden_call(l, hide))]
            found[name] = (textwrap.dedent("\n".join(body)).strip("\n"), hide)
    if open_at:
        raise ValueError(f"{path}: snippet(s) never closed: {', '.join(open_at)}")
    return found


def language(path: str) -> str:
    return {".cpp": "cpp", ".hpp": "cpp", ".h": "cpp", ".cmake": "cmake", ".txt": "cmake",
            ".py": "python", ".sh": "bash"}.get(Path(path).suffix, "")


def process(note: Path, fix: bool, cache: dict) -> list:
    problems, out, lines, i = [], [], note.read_text().splitlines(), 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        m = NOTE_MARK.match(line)
        if not m:
            continue
        where = f"{note.relative_to(ROOT)}:{i}"
        src = ROOT / m["path"]
        try:
            if src not in cache:
                cache[src] = regions(src)
            region = cache[src].get(m["name"])
        except (OSError, ValueError) as e:
            problems.append(f"{where}: {e}")
            continue
        if region is None:
            problems.append(f"{where}: {m['path']} has no region '{m['name']}'")
            continue
        wanted, hidden = region
        # The caption, then the fenced block, right after the marker: what the note shows now.
        want_caption = caption(note, m["path"], m["name"], hidden)
        shown_caption, j = None, i
        if j < len(lines) and CAPTION.match(lines[j]):
            shown_caption, j = lines[j], j + 1
        shown = None
        if j < len(lines) and (f := FENCE.match(lines[j])):
            k = j + 1
            while k < len(lines) and lines[k].rstrip() != f[1]:
                k += 1
            shown = "\n".join(lines[j + 1:k])
            j = k + 1
        if shown != wanted or shown_caption != want_caption:
            if fix:
                out += [want_caption, f"```{language(m['path'])}", *wanted.splitlines(), "```"]
                i = j
                continue
            what = "the block differs from" if shown != wanted else "the caption does not name"
            problems.append(f"{where}: {what} {m['path']}#{m['name']} "
                            f"(run tools/snippets.py --fix, then read the diff)")
    if fix:
        note.write_text("\n".join(out) + "\n")
    return problems


def self_test() -> int:
    """The check on scratch files under the repository: must pass once, then fail each way it can."""
    import shutil
    import tempfile
    scratch = Path(tempfile.mkdtemp(prefix=".snippets-self-test-", dir=ROOT))
    try:
        src, note = scratch / "demo.cpp", scratch / "note.md"
        rel = src.relative_to(ROOT).as_posix()
        src.write_text("int f() {\n  // [snippet f hide=traced]\n  int x = 1;\n  c.traced(Kind::x);\n"
                       "  return x;\n  // [/snippet f]\n}\n")
        note.write_text(f"<!-- snippet: {rel}#f -->\n")
        results = []
        def check(expect_ok: bool, what: str) -> None:
            cache = {}
            ok = not process(note, False, cache)
            results.append((ok == expect_ok, what))
        process(note, True, {})  # --fix writes the block and its caption
        text = note.read_text()
        check("c.traced" not in text and "lines left out" in text, "hide=traced drops the call and says so")
        check(True, "a block that matches its region passes")
        note.write_text(text.replace("int x = 1;", "int x = 2;"))
        check(False, "a changed line fails")
        note.write_text(text.replace("`f` (its", "`g` (its"))
        check(False, "a caption naming another region fails")
        note.write_text(text.replace("#f -->", "#nosuch -->"))
        check(False, "a missing region fails")
        note.write_text(text)
        src.write_text(src.read_text().replace("// [/snippet f]", ""))
        check(False, "an unclosed region fails")
        for good, what in results:
            print(f"snippets self-test: {'ok  ' if good else 'FAIL'} {what}")
        return 0 if all(good for good, _ in results) else 1
    finally:
        shutil.rmtree(scratch)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fix", action="store_true", help="rewrite the notes' blocks from the sources")
    parser.add_argument("--self-test", action="store_true", help="show that the check can fail, then exit")
    parser.add_argument("notes", nargs="*", help="notes files (default: notes/*.md)")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    notes = [Path(n).resolve() for n in args.notes] or sorted((ROOT / "notes").glob("*.md"))
    cache, problems, count = {}, [], 0
    for note in notes:
        problems += process(note, args.fix, cache)
        count += sum(1 for l in note.read_text().splitlines() if NOTE_MARK.match(l))
    for p in problems:
        print(f"snippets: {p}", file=sys.stderr)
    verb = "fixed" if args.fix else "checked"
    print(f"snippets: {verb} {count} snippet(s) in {len(notes)} notes file(s): "
          f"{'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
