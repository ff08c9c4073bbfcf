"""Build the single-file HTML drill report with the Allure 3 command line (npm ``allure``).

`build_report` scrubs the results folder of secrets, makes sure categories.json is there,
runs ``node_modules/.bin/allure generate`` with allurerc.mjs (single file, history kept in
a JSON-lines file so trends show across drills), strips the report's third-party analytics
tag and moves the HTML into place atomically.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from erdrill.core.errors import EnvironmentProblem, ErdrillError
from erdrill.core.files import write_atomic
from erdrill.reports.categories import write_categories
from erdrill.reports.redact import redact

__all__ = [
    "DEFAULT_ALLURE_HISTORY",
    "DEFAULT_REPORT",
    "DEFAULT_RESULTS",
    "AllureFailed",
    "AllureMissing",
    "BuiltReport",
    "NoResults",
    "ReportError",
    "build_report",
    "find_allure",
    "scrub_results",
]

DEFAULT_RESULTS = Path("reports/allure-results")
DEFAULT_REPORT = Path("reports/erdrill-report.html")
DEFAULT_ALLURE_HISTORY = Path("reports/history/allure-history.jsonl")
CONFIG_NAME = "allurerc.mjs"
MAX_PARAMETER = 300

_TEXT_SUFFIXES = (".json", ".txt", ".csv", ".properties", ".log", ".xml", ".yaml", ".yml")
# Allure 3 embeds a Google Tag Manager script; an audit report must not phone home.
_ANALYTICS = re.compile(
    r"<script[^>]*googletagmanager\.com[^>]*>\s*</script>\s*"
    r"(<script>\s*window\.dataLayer[\s\S]*?</script>)?"
)


class ReportError(ErdrillError):
    """The HTML report could not be built."""


class AllureMissing(ReportError, EnvironmentProblem):
    """node or the local Allure 3 command line is not installed."""


class NoResults(ReportError):
    """The Allure results folder is missing or holds no test results."""


class AllureFailed(ReportError):
    """``allure generate`` ran and failed."""


@dataclass(frozen=True, slots=True)
class BuiltReport:
    """Where the report went and what went into it."""

    html: Path
    results: Path
    history: Path
    tests: int
    history_entries: int


def find_allure(root: Path) -> tuple[str, Path]:
    """Return (node, allure entry point) for the project at `root`, or raise AllureMissing."""
    node = shutil.which("node")
    if node is None:
        raise AllureMissing(
            "node not found on PATH; run scripts/setup.sh (installs nodejs and npm)"
        )
    override = os.environ.get("ERDRILL_ALLURE")
    allure = Path(override) if override else root / "node_modules" / ".bin" / "allure"
    if not allure.exists():
        raise AllureMissing(
            f"Allure 3 command line not found at {allure}; run scripts/setup.sh "
            f"(npm ci in {root} installs the allure version pinned in package.json)"
        )
    return node, allure


def scrub_results(results: Path, secrets: Iterable[str | None] | None = None) -> int:
    """Redact secrets in every text file of the results folder in place; return files changed.

    This also covers what allure-pytest-bdd writes itself (messages, traces, step parameters).
    Step parameters longer than `MAX_PARAMETER` characters (allure-pytest-bdd records every
    fixture a step takes, e.g. thousands of samples) are shortened to keep the report readable.
    """
    frozen = tuple(secrets or ())
    changed = 0
    for path in sorted(results.iterdir()):
        if not path.is_file() or path.suffix.lower() not in _TEXT_SUFFIXES:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        clean = text
        if path.name.endswith(("-result.json", "-container.json")):
            clean = _shorten_parameters(clean)
        clean = redact(clean, frozen)
        if clean != text:
            write_atomic(path, clean)
            changed += 1
    return changed


def _shorten_parameters(text: str) -> str:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text
    if not _shorten(data):
        return text
    return json.dumps(data, ensure_ascii=False)


def _shorten(node: Any) -> bool:
    changed = False
    if isinstance(node, dict):
        for param in node.get("parameters") or []:
            value = param.get("value") if isinstance(param, dict) else None
            if isinstance(value, str) and len(value) > MAX_PARAMETER:
                param["value"] = f"{value[: MAX_PARAMETER - 40]}... ({len(value)} characters)"
                changed = True
        for key in ("steps", "befores", "afters"):
            for child in node.get(key) or []:
                changed = _shorten(child) or changed
    return changed


def build_report(
    results: Path = DEFAULT_RESULTS,
    out: Path = DEFAULT_REPORT,
    history: Path = DEFAULT_ALLURE_HISTORY,
    *,
    root: Path | None = None,
    name: str = "erdrill drill report",
    secrets: Iterable[str | None] | None = None,
    timeout: float = 600.0,
) -> BuiltReport:
    """Generate the single-file HTML report from `results` into `out`, appending to `history`.

    `root` is the directory holding package.json, node_modules and allurerc.mjs (default:
    the working directory if it has node_modules, else the erdrill checkout).
    """
    root = _project_root() if root is None else root.resolve()
    results, out, history = (
        p if p.is_absolute() else Path.cwd() / p for p in (results, out, history)
    )
    tests = _count_results(results)
    node, allure = find_allure(root)
    config = root / CONFIG_NAME
    if not config.exists():
        raise AllureMissing(f"Allure configuration {config} is missing; restore it from git")
    scrub_results(results, secrets)
    categories = results / "categories.json"
    if not categories.exists():
        write_categories(results)
    history.parent.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env |= {
        "ERDRILL_ALLURE_HISTORY": str(history),
        "ERDRILL_ALLURE_CATEGORIES": str(categories),
        "ERDRILL_REPORT_NAME": name,
        "NO_COLOR": "1",
        "FORCE_COLOR": "0",
    }
    with (
        _locked(history.with_name(f".{history.name}.lock")),
        tempfile.TemporaryDirectory(prefix=".allure-build-", dir=out.parent) as tmp,
    ):
        argv = [
            node,
            str(allure),
            "generate",
            str(results),
            "--config",
            str(config),
            "--output",
            tmp,
            "--report-name",
            name,
        ]
        try:
            proc = subprocess.run(
                argv,
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise AllureFailed(f"allure generate {results}: no result after {timeout:g} s") from exc
        index = Path(tmp) / "index.html"
        if proc.returncode != 0 or not index.exists():
            raise AllureFailed(
                f"allure generate {results} failed (exit {proc.returncode}): "
                f"{_last_line(proc.stderr or proc.stdout)}"
            )
        html = _ANALYTICS.sub("", index.read_text(encoding="utf-8"))
        write_atomic(out, html)
        out.chmod(0o644)  # write_atomic creates 0600 files; the report is for readers
    entries = _count_lines(history)
    return BuiltReport(
        html=out, results=results, history=history, tests=tests, history_entries=entries
    )


def _project_root() -> Path:
    cwd = Path.cwd()
    if (cwd / "node_modules").is_dir() or (cwd / "package.json").is_file():
        return cwd
    return Path(__file__).resolve().parent.parent


def _count_results(results: Path) -> int:
    if not results.is_dir():
        raise NoResults(
            f"no Allure results folder at {results}; run the drill first "
            f"(pytest features/ --alluredir {results})"
        )
    tests = sum(1 for _ in results.glob("*-result.json"))
    if tests == 0:
        raise NoResults(
            f"no test results (*-result.json) in {results}; run the drill first "
            f"(pytest features/ --alluredir {results})"
        )
    return tests


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open(encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


def _last_line(text: str) -> str:
    """The most telling line of allure's output: the first error line, else the last line."""
    lines = [ln.strip() for ln in re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    chosen = errors[0] if errors else (lines[-1] if lines else "no output")
    return redact(chosen)


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Serialise report builds that share one history file."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
