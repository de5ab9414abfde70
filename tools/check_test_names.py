#!/usr/bin/env python3
"""No doctest TEST_CASE name contains a semicolon.

doctest_discover_tests makes one ctest test per TEST_CASE, and CMake splits a list at every `;`: a
name with one becomes two ctest tests, each running a doctest filter that matches no case at all,
and doctest passes when nothing matched. The test would never run, and nobody would see it.

`tools/check_test_names.py` scans every .cpp under tests/ and chapters/; `--self-test` shows on a
scratch file that the check fails on such a name and passes on a clean one.
"""
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASE = re.compile(r'TEST_CASE\(\s*"((?:[^"\\]|\\.)*)"')


def problems_in(files) -> list:
    found = []
    for f in files:
        text = f.read_text(errors="replace")
        for m in CASE.finditer(text):
            if ";" in m.group(1):
                line = text.count("\n", 0, m.start()) + 1
                where = f.relative_to(ROOT) if f.is_relative_to(ROOT) else f
                found.append(f"{where}:{line}: the test name has a ';', and ctest would split it in two "
                             f"tests that run nothing: \"{m.group(1)}\" (use a comma)")
    return found


def self_test() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "bad.cpp"
        bad.write_text('TEST_CASE("one thing; and another") {}\n')
        good = Path(tmp) / "good.cpp"
        good.write_text('TEST_CASE("one thing, and another") {}\nTEST_CASE("a \\"quoted\\" name") {}\n')
        if len(problems_in([bad])) != 1 or problems_in([good]):
            print("check_test_names --self-test: FAILED (a name with ';' must be found, a clean one not)")
            return 1
    print("check_test_names --self-test: a name with ';' is caught, clean names pass")
    return 0


def main() -> int:
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    files = sorted(p for d in ("tests", "chapters") for p in (ROOT / d).rglob("*.cpp"))
    found = problems_in(files)
    for p in found:
        print(p)
    if found:
        print(f"check_test_names: {len(found)} test name(s) with ';'")
        return 1
    print(f"check_test_names: {len(files)} files, no test name with ';'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
