#!/usr/bin/env python3
"""Runs the commands of every notes file's "Try it" section, as a reader would paste them (.ci/run).

Each line of a ```sh block under "## Try it" is one command, run from the repository root by bash
with a time limit, after the block's earlier variable assignments (W="..."). A command passes when it
exits 0 and prints every text its comment promises in double quotes:

    build/dev/bin/ch02/echo_level --size 65536 --quiet  # even 64 KiB echoes fit: "0 waits for EPOLLOUT"

A `--serve` command is started, must print its "serving on ... port N" line, is sent SIGINT, and must
then print its summary line and exit 0, as the notes say Ctrl-C does.

Some commands cannot run unattended, and their comment says so with "(by hand)" (an interactive nc)
or they are run by another stage of CI: `tools/lab demo|test|grade|bench`, and a benchmark program
(`build/release/bin/chNN/bench_*`). Those are listed as
skipped, with the reason, never passed in silence.

  tryit.py [--list] [notes/chNN-*.md ...]
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT_S = 180
ELSEWHERE = {
    "demo": "the tour: every demo runs as a ctest test (label chNN-demo) in tools/lab test",
    "test": "the last stage of .ci/run is tools/lab test",
    "grade": "the labs stage of .ci/run grades skeletons, solutions and wrong solutions",
    "bench": "benchmarks print figures, not pass/fail; they are run by hand (notes, Performance)",
}


def blocks(note: Path) -> list:
    """(line number, command, comment) for each command of the Try it section's sh blocks."""
    text = note.read_text().splitlines()
    out, in_section, in_block = [], False, False
    for n, line in enumerate(text, start=1):
        if line.startswith("## "):
            in_section = line.strip() == "## Try it"
            continue
        if not in_section:
            continue
        if line.startswith("```"):
            in_block = line.strip() == "```sh" and not in_block
            continue
        if in_block and line.strip():
            command, _, comment = split_comment(line)
            out.append((n, command.strip(), comment.strip()))
    return out


def split_comment(line: str):
    """The command and its trailing '# comment' (a '#' inside quotes is not one)."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i], "#", line[i + 1:]
    return line, "", ""


def run_serve(command: str, env: dict) -> tuple:
    """Starts a --serve command, waits for its port line, sends SIGINT, reads the summary."""
    import threading
    proc = subprocess.Popen(["bash", "-c", command], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    serving = re.compile(r"serving on .*port \d+")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not any(serving.search(l) for l in lines):
        time.sleep(0.05)
    if not any(serving.search(l) for l in lines):
        os.killpg(proc.pid, signal.SIGKILL)
        return False, "no 'serving on ... port N' line within 60 s:\n" + "".join(lines)[-600:]
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends to the foreground group
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return False, "SIGINT did not stop it within 30 s"
    reader.join(timeout=5)
    output = "".join(lines)
    if proc.returncode != 0:
        return False, f"exit status {proc.returncode} after SIGINT:\n{output[-600:]}"
    summary = [l.strip() for l in lines if "summary:" in l]
    if not summary:
        return False, "no summary line after SIGINT:\n" + output[-600:]
    return True, "SIGINT -> " + summary[-1]


def check(note: Path, listing: bool) -> tuple:
    passed = failed = skipped = 0
    prelude = []
    env = dict(os.environ)
    for n, command, comment in blocks(note):
        where = f"{note.relative_to(ROOT)}:{n}"
        if re.fullmatch(r"[A-Z_]+=.*", command):  # W="tools/wine-run ..." is a variable for the next lines
            prelude.append(command)
            continue
        words = command.split()
        if not words:
            continue
        reason = None
        if "(by hand)" in comment:
            reason = "by hand (its comment says so)"
        elif words[:1] == ["tools/lab"] and len(words) > 1 and words[1] in ELSEWHERE:
            reason = ELSEWHERE[words[1]]
        elif words[0].startswith("build/release/bin/") and "/bench_" in words[0]:
            reason = ELSEWHERE["bench"] + "; tools/lab bench builds them"
        if reason:
            skipped += 1
            print(f"  skip  {where}: {command}\n        ({reason})")
            continue
        if listing:
            print(f"  run   {where}: {command}")
            continue
        script = "\n".join(prelude + [command])
        promised = re.findall(r'"([^"]+)"', comment)
        if "--serve" in words:
            ok, said = run_serve(script.replace("\n", "; "), env)
        else:
            try:
                r = subprocess.run(["bash", "-o", "pipefail", "-c", script], cwd=ROOT, env=env, text=True,
                                   errors="replace", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=LIMIT_S)
                output = r.stdout
                missing = [p for p in promised if p not in output]
                ok = r.returncode == 0 and not missing
                said = (f"exit status {r.returncode}" if r.returncode else "") + \
                       (f"; the comment promises {missing} but the output has not" if missing else "")
                if not ok:
                    said += "\n" + "\n".join(output.strip().splitlines()[-8:])
                else:
                    said = (output.strip().splitlines() or [""])[-1][:110]
            except subprocess.TimeoutExpired:
                ok, said = False, f"still running after {LIMIT_S} s"
        if ok:
            passed += 1
            print(f"  ok    {where}: {command}\n        -> {said}")
        else:
            failed += 1
            print(f"  FAIL  {where}: {command}\n        {said}")
    return passed, failed, skipped


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--list", action="store_true", help="only say what would run and what is skipped")
    p.add_argument("notes", nargs="*", type=Path)
    args = p.parse_args()
    notes = [n.resolve() for n in args.notes] or sorted((ROOT / "notes").glob("ch*.md"))
    total = [0, 0, 0]
    for note in notes:
        print(f"{note.relative_to(ROOT)}")
        for i, v in enumerate(check(note, args.list)):
            total[i] += v
    print(f"try-it: {total[0]} command(s) ran as the notes say, {total[1]} failed, {total[2]} skipped "
          "(each with its reason)")
    return 1 if total[1] else 0


if __name__ == "__main__":
    sys.exit(main())
