#!/usr/bin/env python3
"""GitHub Classroom autograding for the labs: writes the workflow, and runs it here.

  classroom.py write FILE          the workflow a student handout carries (.github/workflows/classroom.yml)
  classroom.py run FILE [--expect full|zero|SCORE]
                                   runs that workflow's job on this machine the way GitHub's runner and
                                   the two actions would, and prints the score the reporter would send

GitHub Classroom's current autograding is a workflow with one job named run-autograding-tests. Each
test is a step using education/autograding-command-grader@v1 (pass = exit status 0, all of max-score;
otherwise 0), and a last step, education/autograding-grading-reporter@v1, reads every step's result
from an environment variable <STEP ID IN CAPITALS>_RESULTS and sends the total to Classroom. Here one
step is one lab test, so partial credit is the same as `tools/lab grade` gives. A test is chosen by a
shell-safe id (`tools/lab grade ch02 --test timer_queue/fires-in-deadline-order`), never by its name,
so no quoting can break.

No GitHub runner is reachable from where this is developed: `run` is the proof that each command
works as written. It follows the actions' own code (read from their repositories, v1): the command
runs under /bin/sh with only PATH, HOME and a few fixed variables, its timeout is in minutes, and the
reporter's total is the sum of the scores over the sum of max-score.
"""
import argparse
import base64
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import labs as labdefs  # noqa: E402

ROOT = labdefs.ROOT
GRADER = "education/autograding-command-grader@v1"
REPORTER = "education/autograding-grading-reporter@v1"
JOB = "run-autograding-tests"   # the reporter looks for the check run of exactly this name
WINE_VAR = "EVQ_WINE_LABS"      # a repository (or organisation) variable: 'true' grades ch01 under Wine
STEP_MINUTES = 2                # one test: its own limit is EVQ_LAB_TIMEOUT (30 s); the build is done before


def step_id(lab, index: int) -> str:
    return f"{lab.chapter}-{lab.name.replace('_', '-')}-{index:02d}"


def yq(text: str) -> str:
    """A YAML scalar that means exactly `text` (a JSON string is a valid YAML double-quoted scalar)."""
    return json.dumps(text)


def write(out: Path) -> int:
    native, wine = [], []
    for lab in labdefs.all_labs():
        for i, t in enumerate(lab.visible_tests(), start=1):
            (wine if lab.chapter == "ch01" else native).append((lab, t, step_id(lab, i)))
    wine_on = f"vars.{WINE_VAR} == 'true'"
    lines = [
        "# GitHub Classroom autograding for the evq labs: one step per lab test, so a student gets the same",
        "# partial credit as `tools/lab grade all` gives. Written by `tools/lab classroom`: regenerate it",
        "# rather than edit it. Checked by `tools/lab classroom-check` (schema, then every command run",
        "# locally the way the actions run them). The Windows labs (ch01) run under Wine only when the",
        f"# repository or organisation variable {WINE_VAR} is 'true' (Settings > Secrets and variables > Actions).",
        "name: Autograding Tests",
        "on:",
        "  push:",
        "  workflow_dispatch:",
        "  repository_dispatch:",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        f"  {JOB}:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    timeout-minutes: 90",
        "    env:",
        f"      EVQ_NO_WINE: ${{{{ {wine_on} && '0' || '1' }}}}",
        "    steps:",
        "      - name: Checkout code",
        "        uses: actions/checkout@v4",
        "      - name: Install the build tools and libraries (the packages tools/lab setup names)",
        "        run: tools/lab setup",
        "      - name: Build every lab (one that does not compile fails its own tests, and no others)",
        "        run: tools/lab grade all --build-only",
    ]
    for lab, t, sid in native + wine:
        lines += [
            f"      - name: {yq(f'{lab.chapter} Lab {lab.number} {lab.name}: {t.name}')}",
            f"        id: {sid}",
        ]
        if lab.chapter == "ch01":
            lines.append(f"        if: ${{{{ {wine_on} }}}}")
        lines += [
            f"        uses: {GRADER}",
            "        with:",
            f"          test-name: {yq(f'{lab.chapter}/{lab.name}: {t.name}')}",
            f"          command: tools/lab grade {lab.chapter} --test {lab.name}/{t.id}",
            f"          timeout: {STEP_MINUTES}",
            f"          max-score: {t.points}",
        ]
    all_ids = ",".join(s for _, _, s in native + wine)
    native_ids = ",".join(s for _, _, s in native)
    lines += [
        "      - name: Autograding Reporter",
        f"        uses: {REPORTER}",
        "        env:",
    ]
    for _, _, sid in native + wine:
        lines.append(f"          {sid.upper()}_RESULTS: \"${{{{ steps.{sid}.outputs.result }}}}\"")
    lines += [
        "        with:",
        f"          runners: ${{{{ {wine_on} && '{all_ids}' || '{native_ids}' }}}}",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    points = sum(t.points for _, t, _ in native)
    wine_points = sum(t.points for _, t, _ in wine)
    print(f"classroom: wrote {out} with {len(native)} test steps ({points} points)"
          f" and {len(wine)} Windows steps under Wine ({wine_points} points, when {WINE_VAR} is 'true')")
    return 0


# ----------------------------------------------------------------------------------------------
# Running the workflow here
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def evaluate(expr: str, context: dict):
    """The few expression forms the generated workflow uses, evaluated as GitHub would."""
    expr = expr.strip()
    m = re.fullmatch(r"(.+?) && '([^']*)' \|\| '([^']*)'", expr)
    if m:
        return m.group(2) if evaluate(m.group(1), context) else m.group(3)
    m = re.fullmatch(r"([\w.\-]+) (==|!=) '([^']*)'", expr)
    if m:
        value = str(lookup(m.group(1), context))
        return (value == m.group(3)) == (m.group(2) == "==")
    return lookup(expr, context)


def lookup(path: str, context: dict):
    value = context
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return ""
        value = value[part]
    return value


def substitute(text, context: dict) -> str:
    if not isinstance(text, str):
        return str(text)
    return EXPR.sub(lambda m: str(evaluate(m.group(1), context)), text)


def condition(step_if, context: dict) -> bool:
    if step_if is None:
        return True
    inner = EXPR.fullmatch(step_if.strip())
    return bool(evaluate(inner.group(1) if inner else step_if, context))


def run_command_grader(inputs: dict, context: dict) -> dict:
    """What education/autograding-command-grader@v1 does (src/main.js): execSync under /bin/sh with
    a small fixed environment, a timeout in minutes, all of max-score on exit status 0."""
    env = {"PATH": os.environ.get("PATH", ""), "FORCE_COLOR": "true", "DOTNET_CLI_HOME": "/tmp",
           "DOTNET_NOLOGO": "true", "HOME": os.environ.get("HOME", "/root")}
    timeout = float(substitute(inputs.get("timeout", 10), context)) * 60
    max_score = int(substitute(inputs.get("max-score", 0), context) or 0)
    name = substitute(inputs["test-name"], context)
    command = substitute(inputs["command"], context)
    start = time.monotonic()
    status, message = "pass", ""
    try:
        setup = inputs.get("setup-command")
        if setup:
            subprocess.run(["/bin/sh", "-c", substitute(setup, context)], env=env, cwd=ROOT, timeout=timeout, check=True)
        subprocess.run(["/bin/sh", "-c", command], env=env, cwd=ROOT, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        status, message = "error", "Command timed out"
    except subprocess.CalledProcessError:
        status, message = "fail", "failed with exit code 1"
    duration = int((time.monotonic() - start) * 1000)
    result = {"version": 1, "status": status, "max_score": max_score,
              "tests": [{"name": name, "status": status, "score": max_score if status == "pass" else 0,
                         "message": message, "test_code": command, "filename": "", "line_no": 0,
                         "duration": duration}]}
    return {"result": base64.b64encode(json.dumps(result).encode()).decode()}


def run_reporter(step: dict, context: dict) -> tuple:
    """What education/autograding-grading-reporter@v1 does: for each runner id, decode the variable
    <ID in capitals>_RESULTS; the score sent to Classroom is the sum of scores over the sum of max_score."""
    env = {k: substitute(v, context) for k, v in (step.get("env") or {}).items()}
    runners = [r.strip() for r in substitute(step["with"]["runners"], context).split(",") if r.strip()]
    total = most = 0
    rows = []
    for r in runners:
        key = f"{r.upper()}_RESULTS"
        if not env.get(key):
            raise SystemExit(f"classroom run: the reporter lists runner '{r}' but {key} is empty or missing "
                             "(the real reporter would fail here)")
        results = json.loads(base64.b64decode(env[key]))
        score = sum(t["score"] for t in results["tests"])
        if results.get("max_score"):
            total += score
            most += results["max_score"]
        rows.append((r, score, results.get("max_score", 0), results["status"]))
    return total, most, rows


def run(workflow: Path, expect: str) -> int:
    try:
        import yaml
    except ImportError:
        print("classroom run: needs PyYAML (Debian: python3-yaml; tools/lab classroom-check installs it)", file=sys.stderr)
        return 2
    doc = yaml.safe_load(workflow.read_text())
    job = (doc.get("jobs") or {}).get(JOB)
    if job is None:
        print(f"classroom run: {workflow} has no job '{JOB}' (the reporter only finds a check run of that name)",
              file=sys.stderr)
        return 1
    perms = doc.get("permissions") or {}
    if perms.get("checks") != "write":
        print("classroom run: the workflow needs 'permissions: checks: write' for the reporter", file=sys.stderr)
        return 1
    context = {"vars": {WINE_VAR: os.environ.get(WINE_VAR, "")}, "steps": {},
               "github": {"actor": os.environ.get("USER", "student")}}
    if not condition(job.get("if"), context):
        print("classroom run: the job's condition is false here")
        return 1
    job_env = {k: substitute(v, context) for k, v in (job.get("env") or {}).items()}
    outcome = None
    for n, step in enumerate(job["steps"], start=1):
        name = step.get("name", step.get("uses", step.get("run", "")))
        if not condition(step.get("if"), context):
            print(f"--- step {n}: {name}: skipped (its condition is false)")
            continue
        uses = step.get("uses", "")
        if uses.startswith("actions/checkout@"):
            print(f"--- step {n}: {name}: (the repository is already here)")
            continue
        if "run" in step:
            print(f"--- step {n}: {name}: $ {step['run']}", flush=True)
            env = dict(os.environ, **job_env)
            if subprocess.run(["bash", "-e", "-c", substitute(step["run"], context)], cwd=ROOT, env=env).returncode:
                print(f"classroom run: step {n} failed, and on GitHub the job would stop here")
                return 1
            continue
        if uses == GRADER:
            print(f"--- step {n}: {substitute(step['with']['test-name'], context)}", flush=True)
            context["steps"][step["id"]] = {"outputs": run_command_grader(step["with"], context)}
            continue
        if uses == REPORTER:
            total, most, rows = run_reporter(step, context)
            outcome = (total, most)
            failed = [r for r in rows if r[3] != "pass"]
            print(f"\nreporter: {len(rows)} runners, {len(rows) - len(failed)} passed; "
                  f"the score sent to GitHub Classroom: Points {total}/{most}")
            for runner, score, max_score, status in failed:
                print(f"  not passed: {runner} ({status}, {score}/{max_score} points)")
            continue
        print(f"classroom run: step {n} uses '{uses}', which this runner does not know", file=sys.stderr)
        return 1
    if outcome is None:
        print("classroom run: no reporter step, so GitHub Classroom would get no score", file=sys.stderr)
        return 1
    total, most = outcome
    if expect == "full" and total != most or expect == "zero" and total != 0 \
            or re.fullmatch(r"\d+", expect or "") and total != int(expect):
        print(f"classroom run: expected {expect} points, got {total}/{most}")
        return 1
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("file", type=Path)
    r = sub.add_parser("run")
    r.add_argument("file", type=Path)
    r.add_argument("--expect", default="", help="full, zero, or a number of points")
    args = p.parse_args()
    if args.cmd == "write":
        return write(args.file)
    return run(args.file, args.expect)


if __name__ == "__main__":
    sys.exit(main())
