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
"""
import argparse
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTE_MARK = re.compile(r"^<!-- snippet: (?P<path>[^#\s]+)#(?P<name>[\w.-]+) -->\s*$")
OPEN = re.compile(r"^\s*(//|#|;)\s*\[snippet (?P<name>[\w.-]+)\]\s*$")
CLOSE = re.compile(r"^\s*(//|#|;)\s*\[/snippet (?P<name>[\w.-]+)\]\s*$")
FENCE = re.compile(r"^(```+)(\w*)\s*$")
CAPTION = re.compile(r"^\*From \[")


def caption(note: Path, path: str, name: str) -> str:
    """The visible line above a snippet: its file, linked relative to the note, and its region."""
    import os
    link = os.path.relpath(ROOT / path, note.parent)
    return f"*From [{path}]({link}), `{name}`:*"


def regions(path: Path) -> dict:
    """All marked regions of a source file: name -> text. Raises on unbalanced markers."""
    found, open_at, lines = {}, {}, path.read_text().splitlines()
    for i, line in enumerate(lines):
        if m := OPEN.match(line):
            name = m["name"]
            if name in open_at or name in found:
                raise ValueError(f"{path}:{i+1}: snippet '{name}' is marked twice")
            open_at[name] = i
        elif m := CLOSE.match(line):
            name = m["name"]
            if name not in open_at:
                raise ValueError(f"{path}:{i+1}: [/snippet {name}] closes nothing")
            body = [l for l in lines[open_at.pop(name) + 1:i] if not OPEN.match(l) and not CLOSE.match(l)]
            found[name] = textwrap.dedent("\n".join(body)).strip("\n")
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
            wanted = cache[src].get(m["name"])
        except (OSError, ValueError) as e:
            problems.append(f"{where}: {e}")
            continue
        if wanted is None:
            problems.append(f"{where}: {m['path']} has no region '{m['name']}'")
            continue
        # The caption, then the fenced block, right after the marker: what the note shows now.
        want_caption = caption(note, m["path"], m["name"])
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fix", action="store_true", help="rewrite the notes' blocks from the sources")
    parser.add_argument("notes", nargs="*", help="notes files (default: notes/*.md)")
    args = parser.parse_args()
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
