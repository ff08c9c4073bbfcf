"""Soak the interrupt and repair campaign: run it N times, each in its own pytest process.

    .venv/bin/python benchmarks/soak.py [N] [--out DIR] [--tests PATH ...] [-- extra pytest args]

Prints, as it goes, one line per run (passed or not, wall time, load average, failed test
ids), then the totals: runs passed, failures by test id, and timings per test and per
pytest phase (setup, call, teardown, from `--durations=0`), plus per interrupted drill
phase (the `[SIGNAL-phase]` ids of tests/test_interrupts.py). Each run's output, JUnit XML
and the artefacts failed tests keep (tests/conftest.py, ERDRILL_TEST_ARTEFACTS) go to
DIR (default /var/tmp/erdrill-soak/<start time>). As root, like the tests.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CAMPAIGN = ["tests/test_interrupts.py", "tests/test_repair.py"]
RUN_TIMEOUT_S = 1800.0  # a run that takes this long is reported as hung and killed
DURATION = re.compile(r"^\s*([\d.]+)s (setup|call|teardown)\s+(\S+)")
PARAM = re.compile(r"\[(?:SIG\w+-)?([\w-]+)\]$")


def machine_state() -> str:
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    mem = {
        k: int(v.split()[0]) // 1024
        for k, v in (line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        if k in ("MemTotal", "MemAvailable")
    }
    return (
        f"load {load}, {os.cpu_count()} cpus, "
        f"{mem.get('MemAvailable', 0)}/{mem.get('MemTotal', 0)} MiB free"
    )


def run_once(i: int, out: Path, tests: list[str], extra: list[str]) -> dict[str, object]:
    xml = out / f"run-{i:03d}.xml"
    log = out / f"run-{i:03d}.txt"
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *tests,
        "-p",
        "no:cacheprovider",
        f"--junitxml={xml}",
        "--durations=0",
        "--durations-min=0",
        "-rfE",
        *extra,
    ]
    env = {**os.environ, "ERDRILL_TEST_ARTEFACTS": str(out / "artefacts")}
    before = machine_state()
    start = time.monotonic()
    with log.open("w") as f:
        proc = subprocess.Popen(
            argv, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            code = proc.wait(timeout=RUN_TIMEOUT_S)
            hung = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code, hung = proc.wait(), True
    wall = time.monotonic() - start
    cases: dict[str, str] = {}
    if xml.exists():
        for tc in ET.parse(xml).iter("testcase"):
            tid = f"{tc.get('classname', '').replace('.', '/')}.py::{tc.get('name')}"
            bad = [c.tag for c in tc if c.tag in ("failure", "error")]
            skipped = any(c.tag == "skipped" for c in tc)
            cases[tid] = bad[0] if bad else ("skipped" if skipped else "passed")
    phases: list[tuple[str, str, float]] = []
    for line in log.read_text(errors="replace").splitlines():
        m = DURATION.match(line)
        if m:
            phases.append((m.group(3), m.group(2), float(m.group(1))))
    return {
        "run": i,
        "code": code,
        "hung": hung,
        "wall": wall,
        "before": before,
        "after": machine_state(),
        "cases": cases,
        "phases": phases,
        "log": log,
    }


def _stats(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"median {statistics.median(values):6.2f} s  min {min(values):6.2f}  "
        f"max {max(values):6.2f}  (n={len(values)})"
    )


def main(argv: list[str]) -> int:
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="?", type=int, default=10, help="how many runs (default 10)")
    ap.add_argument("--out", type=Path, default=None, help="where runs' outputs go")
    ap.add_argument("--tests", nargs="+", default=CAMPAIGN, help="test files (the campaign)")
    args = ap.parse_args(argv)
    out = args.out or Path("/var/tmp/erdrill-soak") / time.strftime("%Y%m%dT%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    print(f"soak: {args.runs} runs of {' '.join(args.tests)} {' '.join(extra)}".rstrip())
    print(f"soak: outputs in {out}; machine: {machine_state()}", flush=True)

    results = []
    for i in range(1, args.runs + 1):
        r = run_once(i, out, args.tests, extra)
        results.append(r)
        cases: dict[str, str] = r["cases"]  # type: ignore[assignment]
        failed = sorted(t for t, s in cases.items() if s in ("failure", "error"))
        ok = r["code"] == 0 and not failed
        state = "passed" if ok else ("HUNG" if r["hung"] else f"FAILED (exit {r['code']})")
        passed_n = sum(s == "passed" for s in cases.values())
        print(
            f"run {i:3d}: {state:18s} {r['wall']:6.1f} s  {passed_n}/{len(cases)} tests passed  "
            f"[{r['after']}]" + "".join(f"\n          failed: {t}" for t in failed),
            flush=True,
        )

    passed_runs = sum(
        1
        for r in results
        if r["code"] == 0 and all(s == "passed" for s in r["cases"].values())  # type: ignore[attr-defined]
    )
    failures: Counter[str] = Counter()
    for r in results:
        for t, s in r["cases"].items():  # type: ignore[attr-defined]
            if s in ("failure", "error"):
                failures[t] += 1
    print(f"\n== runs passed: {passed_runs}/{len(results)}")
    walls = [float(r["wall"]) for r in results]  # type: ignore[arg-type]
    print(f"run wall time: {_stats(walls)}")
    print("== failures by test id:" + ("" if failures else " none"))
    for t, n in failures.most_common():
        logs = [str(r["log"]) for r in results if r["cases"].get(t) in ("failure", "error")]  # type: ignore[attr-defined]
        print(f"  {n:3d}x {t}\n        in {', '.join(logs)}")

    by_test: dict[tuple[str, str], list[float]] = defaultdict(list)
    by_phase: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in results:
        for tid, when, secs in r["phases"]:  # type: ignore[attr-defined]
            by_test[(tid, when)].append(secs)
            m = PARAM.search(tid)
            group = tid.split("::")[-1].split("[")[0]
            by_phase[(f"{group}[{m.group(1)}]" if m else group, when)].append(secs)
    print("== per pytest phase, all tests:")
    for when in ("setup", "call", "teardown"):
        vals = [v for (_, w), vs in by_test.items() if w == when for v in vs]
        print(f"  {when:8s} {_stats(vals)}")
    print("== per test and drill phase (call; setup/teardown if over 1 s):")
    for (name, when), vals in sorted(by_phase.items()):
        if when == "call" or max(vals) > 1.0:
            print(f"  {name:70s} {when:8s} {_stats(vals)}")
    return 0 if passed_runs == len(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
