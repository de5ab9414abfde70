"""Reads the JUnit XML that `ctest --output-junit` writes: one record per test."""
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


@dataclass
class TestResult:
    name: str
    status: str   # "passed", "failed" or "skipped"
    output: str
    seconds: float
    timed_out: bool = False   # ctest killed it at its TIMEOUT (JUnit files do not say; see grade.py)


EMPTY_RUN = re.compile(r"\[doctest\] test cases:\s+0 \|")


def read(path) -> list:
    path = Path(path)
    if not path.exists():
        return []
    results = []
    for case in ET.parse(path).getroot().iter("testcase"):
        status = "passed"
        if case.find("failure") is not None or case.find("error") is not None or case.get("status") == "fail":
            status = "failed"
        elif case.find("skipped") is not None or case.get("status") in ("notrun", "disabled"):
            status = "skipped"
        out = case.findtext("system-out") or ""
        # A doctest program whose --test-case filter matched nothing exits 0 having tested nothing
        # (a ';' in a TEST_CASE name splits it into two such ctest tests). That is not a pass.
        if status == "passed" and EMPTY_RUN.search(out):
            status = "failed"
            out += "\nevq: this ctest test ran no doctest test case: its name matched none " \
                   "(does the TEST_CASE name contain ';'?)\n"
        results.append(TestResult(case.get("name", "?"), status, out, float(case.get("time") or 0)))
    return results


POINTS = re.compile(r"\[(\d+) pts?\]\s*$")


def points(name: str) -> int:
    """The points a lab test is worth, from the end of its name: "... [2 pts]"."""
    m = POINTS.search(name)
    return int(m.group(1)) if m else 0


def failure_message(output: str, limit: int = 12) -> str:
    """The lines of doctest's output that say what was expected and what happened."""
    keep = []
    for line in output.splitlines():
        s = line.strip()
        if not s or s.startswith("===") or s.startswith("[doctest]") or s.startswith("---"):
            continue
        if re.match(r"^(TEST CASE|.*: (ERROR|FATAL ERROR|WARNING)|  values:|  logged:|CHECK|REQUIRE|.*TODO\(lab\)|.*exception|.*Should|.*should|.*expected|.*got)", line) \
                or line.startswith("  "):
            keep.append(line.rstrip())
    text = "\n".join(keep[:limit]) or "\n".join(output.strip().splitlines()[-limit:])
    return text
