"""Exit codes and the scheduling examples: each parses, runs the drill command, treats the codes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from erdrill.core.exitcodes import ExitCode
from erdrill.core.outcomes import run_exit_code

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "schedule"
DRILL_COMMAND = "pytest features/"  # scripts/drill.sh and docs/scheduling.md
DRILL_CODES = [c for c in ExitCode if c >= 10]


@pytest.mark.parametrize(
    ("outcomes", "pytest_status", "expected"),
    [
        ([("passed", None), ("passed", None)], 0, ExitCode.PASSED),
        ([("passed", None), ("failed", "limit-exceeded")], 1, ExitCode.LIMIT_EXCEEDED),
        ([("failed", "limit-exceeded"), ("failed", "no-failover")], 1, ExitCode.NO_FAILOVER),
        ([("aborted", "harness-error"), ("failed", "no-failover")], 1, ExitCode.HARNESS_ERROR),
        ([("failed", None)], 1, ExitCode.HARNESS_ERROR),
        ([("aborted", "interrupted")], 2, ExitCode.ABORTED),
        ([("aborted", "harness-error")], 2, ExitCode.ABORTED),  # a signal ended the run
        ([], 2, ExitCode.ABORTED),  # interrupted before any drill began
        ([("aborted", "interrupted"), ("failed", "not-restored")], 2, ExitCode.NOT_RESTORED),
        ([], int(ExitCode.LOCKED), ExitCode.LOCKED),  # refused: pytest.exit's code stays
        ([], 5, 5),  # nothing collected
        ([], 4, 4),  # usage error
        ([("passed", None)], 1, 1),  # a non-drill test failed
    ],
)
def test_run_exit_code(
    outcomes: list[tuple[str, str | None]], pytest_status: int, expected: int
) -> None:
    assert run_exit_code(outcomes, pytest_status) == expected


def test_the_docs_table_matches_the_codes() -> None:
    doc = (REPO / "docs" / "scheduling.md").read_text()
    rows = dict(re.findall(r"^\| (\d+) \| ([a-z ]+) \|", doc, re.M))
    assert {int(k): v for k, v in rows.items()} == {
        int(c): c.name.lower().replace("_", " ") for c in ExitCode if c != ExitCode.USAGE
    }


def _handles_every_code(text: str) -> None:
    for code in DRILL_CODES:
        assert re.search(rf"^\s*{int(code)}\)", text, re.M), f"exit {int(code)} not handled"
    assert re.search(r"^\s*\*\)", text, re.M), "no fallback for other codes"
    assert re.search(r"exit \"?\$rc\"?", text), "the drill's exit code is not passed on"


def _script_of(step: dict[str, object]) -> str:
    return str(step.get("run") or step.get("script") or "")


def test_github_actions_workflow() -> None:
    wf = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    assert re.fullmatch(r"(\S+ ){4}\S+", on["schedule"][0]["cron"])
    steps = wf["jobs"]["drill"]["steps"]
    [drill] = [s for s in steps if DRILL_COMMAND in _script_of(s)]
    _handles_every_code(_script_of(drill))
    assert any(s.get("if") == "always()" and "drills" in str(s.get("with")) for s in steps)


def test_azure_pipelines() -> None:
    p = yaml.safe_load((EXAMPLES / "azure-pipelines.yml").read_text())
    assert p["trigger"] == "none" and re.fullmatch(r"(\S+ ){4}\S+", p["schedules"][0]["cron"])
    steps = p["jobs"][0]["steps"]
    [drill] = [s for s in steps if DRILL_COMMAND in _script_of(s)]
    _handles_every_code(_script_of(drill))
    assert any(s.get("condition") == "always()" for s in steps)


def test_cron_line() -> None:
    lines = [
        ln
        for ln in (EXAMPLES / "erdrill.cron").read_text().splitlines()
        if ln.strip() and not ln.startswith("#") and not re.match(r"^[A-Z_]+=", ln)
    ]
    [line] = lines
    minute, hour, dom, month, dow, user, command = line.split(None, 6)
    field = r"(\*|\d+)([-,/]\d+)*"
    for value in (minute, hour, dom, month, dow):
        assert re.fullmatch(field, value), value
    assert user == "root" and "%" not in command  # cron turns a bare % into a newline
    assert command.split()[0] == "/opt/erdrill/examples/schedule/run-drill.sh"


@pytest.mark.parametrize("code", [0, *DRILL_CODES, 4])
def test_run_drill_script_passes_the_code_on_and_says_what_it_means(
    tmp_path: Path, code: int
) -> None:
    script = (EXAMPLES / "run-drill.sh").read_text()
    assert DRILL_COMMAND in script
    fake = tmp_path / ".venv" / "bin" / "pytest"
    fake.parent.mkdir(parents=True)
    fake.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/argv"\nexit {code}\n')
    fake.chmod(0o755)
    out = subprocess.run(
        [str(EXAMPLES / "run-drill.sh"), "--target", "lab"],
        env={**os.environ, "ERDRILL_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == code
    assert (tmp_path / "argv").read_text().split() == [
        "features/",
        "-p",
        "no:cacheprovider",
        "--target",
        "lab",
    ]
    meaning = {
        0: "passed",
        10: "limit",
        11: "did not fail over",
        12: "aborted",
        13: "harness",
        14: "another drill",
        15: "still in place",
        16: "NOT RESTORED",
        4: "exit code 4",
    }
    assert meaning[code] in out.stderr and f"(exit {code})" in out.stderr


def test_systemd_units(tmp_path: Path) -> None:
    service = (EXAMPLES / "erdrill-drill.service").read_text()
    timer = (EXAMPLES / "erdrill-drill.timer").read_text()
    assert re.search(r"^ExecStart=/opt/erdrill/\.venv/bin/pytest features/ ", service, re.M)
    assert re.search(r"^KillMode=mixed$", service, re.M)  # SIGTERM to pytest only
    assert re.search(r"^Type=oneshot$", service, re.M)
    assert re.search(r"^Unit=erdrill-drill\.service$", timer, re.M)
    assert re.search(r"^OnCalendar=", timer, re.M)
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (structure checked above)")
    # verify against this checkout, so ExecStart's binary exists
    for name, text in (("erdrill-drill.service", service), ("erdrill-drill.timer", timer)):
        (tmp_path / name).write_text(text.replace("/opt/erdrill", str(REPO)))
    out = subprocess.run(
        [
            "systemd-analyze",
            "verify",
            str(tmp_path / "erdrill-drill.timer"),
            str(tmp_path / "erdrill-drill.service"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    problems = [
        ln
        for ln in out.stderr.splitlines()
        if "erdrill-drill" in ln and "file:///" not in ln  # the Documentation= link is fine
    ]
    assert out.returncode == 0 and not problems, out.stderr


def test_a_bad_topology_is_a_usage_error_not_an_abort(tmp_path: Path) -> None:
    """pytest's 2 means interrupted (12): an operator error must not end with it."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: default\nprefix: NOT-VALID\n")
    out = subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "pytest"),
            "features/",
            "-p",
            "no:cacheprovider",
            "--lab-topology",
            str(bad),
            "--drills-dir",
            str(tmp_path / "drills"),
        ],
        cwd=REPO,
        env={**os.environ, "ERDRILL_STATE_DIR": str(tmp_path / "state")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 4, out.stdout[-2000:] + out.stderr[-2000:]
    assert "prefix" in out.stdout + out.stderr
    assert not (tmp_path / "drills").exists()
