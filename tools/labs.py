"""What labs the repository has, read from its sources alone (no build needed).

A chapter's labs are the evq_add_lab(...) calls in tests/labs/<chapter>/CMakeLists.txt, in the order
they are written there, which is the order of the handout in notes/<chapter>.md (Lab 1, Lab 2, ...).
For each lab this module knows:
  - the student's files (exercises/<chapter>/<file>, or solutions/ for the reference);
  - its tests: every TEST_CASE in tests/labs/<chapter>/test_<lab>.cpp, with the points at the end of
    its name ("... [2 pts]") and a shell-safe id made from the name ("fires-in-deadline-order");
  - its hidden tests, in tests/labs/<chapter>/hidden/test_<lab>.cpp: shipped in the Gradescope
    autograder only, never in a student handout;
  - its deliberately wrong solutions, tests/labs/<chapter>/wrong/<lab>/<mistake>.mutation, which
    prove-labs checks the tests catch: each is one small edit of the reference solution, with a
    "Mistake:" line and a "Caught by: <test id>[, <test id>]" line (tools/mutate.py).
"""
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABS_DIR = ROOT / "tests" / "labs"

ADD_LAB = re.compile(r"^\s*evq_add_lab\(\s*(\w+)\s+STUDENT_FILES\s+([^)]*?)\s+TESTS\s", re.M)
TEST_CASE = re.compile(r'TEST_CASE(?:_TEMPLATE)?\s*\(\s*"((?:[^"\\]|\\.)*)"')
POINTS = re.compile(r"\s*\[(\d+) pts?\]\s*$")


@dataclass
class LabTest:
    name: str          # the TEST_CASE name, points included
    points: int
    id: str            # shell-safe: lowercase letters, digits and '-'
    hidden: bool


@dataclass
class WrongSolution:
    path: Path
    mistake: str
    caught_by: list    # test ids


@dataclass
class Lab:
    chapter: str       # "ch02"
    chapter_dir: str   # "ch02-epoll"
    number: int        # 1, 2, ... in handout order
    name: str          # "timer_queue"
    student_files: list
    tests: list = field(default_factory=list)
    wrong: list = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(t.points for t in self.tests)

    def visible_tests(self) -> list:
        return [t for t in self.tests if not t.hidden]

    def test(self, test_id: str):
        return next((t for t in self.tests if t.id == test_id), None)


def points(name: str) -> int:
    m = POINTS.search(name)
    return int(m.group(1)) if m else 0


def slug(name: str) -> str:
    """'a zero delay fires (an it_value of 0 ...) [2 pts]' -> 'a-zero-delay-fires-an-it-value-of-0'."""
    text = POINTS.sub("", name).lower()
    text = re.sub(r"\(.*?\)", " ", text)        # asides in brackets make ids long and add nothing
    words = re.findall(r"[a-z0-9]+", text)
    return "-".join(words[:7]) or "test"


def _tests_in(path: Path, hidden: bool) -> list:
    if not path.exists():
        return []
    return [LabTest(name=n, points=points(n), id=slug(n), hidden=hidden)
            for n in TEST_CASE.findall(path.read_text())]


def _wrong_solutions(directory: Path) -> list:
    import mutate  # beside this file
    found = []
    for f in sorted(directory.glob("*.mutation")) if directory.is_dir() else []:
        m = mutate.parse(f)
        found.append(WrongSolution(path=f, mistake=m["mistake"], caught_by=m["caught_by"]))
    return found


def chapter_dirs() -> list:
    return sorted(d.name for d in LABS_DIR.glob("ch[0-9][0-9]-*") if (d / "CMakeLists.txt").exists())


def chapters() -> list:
    return [d[:4] for d in chapter_dirs()]


def labs(chapter: str) -> list:
    """The labs of one chapter ("ch02"), in handout order. Raises ValueError on a malformed lab."""
    dirs = [d for d in chapter_dirs() if d[:4] == chapter]
    if not dirs:
        return []
    base = LABS_DIR / dirs[0]
    result = []
    for number, m in enumerate(ADD_LAB.finditer((base / "CMakeLists.txt").read_text()), start=1):
        name = m.group(1)
        lab = Lab(chapter=chapter, chapter_dir=dirs[0], number=number, name=name,
                  student_files=m.group(2).split())
        lab.tests = _tests_in(base / f"test_{name}.cpp", False) + _tests_in(base / "hidden" / f"test_{name}.cpp", True)
        lab.wrong = _wrong_solutions(base / "wrong" / name)
        ids = [t.id for t in lab.tests]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"lab {chapter}/{name}: two tests share the id {dupes[0]}: make their names differ earlier")
        for w in lab.wrong:
            unknown = [i for i in w.caught_by if i not in ids]
            if not w.mistake or not w.caught_by or unknown:
                raise ValueError(f"{w.path.relative_to(ROOT)}: needs 'Mistake:' and 'Caught by:' lines naming "
                                 f"tests of {name}" + (f" (unknown ids: {', '.join(unknown)})" if unknown else ""))
        result.append(lab)
    return result


def all_labs() -> list:
    return [lab for c in chapters() for lab in labs(c)]


def ctest_name(lab: Lab, test: LabTest) -> str:
    """The name ctest gives a lab test (cmake/EvqChapters.cmake: evq_add_lab's prefix)."""
    return f"lab {lab.chapter}/{lab.name}: {test.name}"
