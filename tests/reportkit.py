"""Helpers for tests of the report: Allure plugins that record, and the HTML report opened
in headless Chromium."""

from __future__ import annotations

import base64
import contextlib
import html as html_lib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TypeVar

import allure_commons
import pytest

P = TypeVar("P")


@contextlib.contextmanager
def allure_plugin(plugin: P) -> Iterator[P]:
    """`plugin` registered with allure_commons for the block (it sees what is reported)."""
    allure_commons.plugin_manager.register(plugin)
    try:
        yield plugin
    finally:
        allure_commons.plugin_manager.unregister(plugin)


def decode_embedded(html: str) -> dict[str, bytes]:
    """The data files Allure 3 embeds in its single-file report, by name."""
    return {m[1]: base64.b64decode(m[2]) for m in re.finditer(r'd\("([^"]+)","([^"]*)"\)', html)}


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("chromium is not installed: run scripts/setup.sh (scripts/apt-packages.txt)")


def rendered_dom(html: Path, fragment: str, profile: Path) -> str:
    """The page's DOM after the report app has rendered `#fragment`."""
    proc = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            f"{html.as_uri()}#{fragment}",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _text(dom: str) -> str:
    dom = re.sub(r"<(script|style)\b[\s\S]*?</\1>", " ", dom)
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", dom)))


def result_id_of(html: Path, name: str) -> str:
    for key, blob in decode_embedded(html.read_text()).items():
        if key.startswith("data/test-results/") and json.loads(blob).get("name") == name:
            return key.rsplit("/", 1)[1].removesuffix(".json")
    raise AssertionError(f"no test result named {name!r} in {html}")


def rendered_text(html: Path, fragment: str, profile: Path) -> str:
    """The page's visible text after the report app has rendered `#fragment`."""
    return _text(rendered_dom(html, fragment, profile))


def description_text(html: Path, fragment: str, profile: Path) -> str:
    """The visible text of a test's description: Allure 3 renders it (sanitised) in an
    iframe's ``srcdoc``, which the page's own text does not include."""
    dom = rendered_dom(html, fragment, profile)
    docs = [html_lib.unescape(m[1]) for m in re.finditer(r'<iframe[^>]*srcdoc="([^"]*)"', dom)]
    return " ".join(_text(doc) for doc in docs)


def run_inner_pytest(
    work: Path, results: Path, env_extra: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run pytest on the scratch project in `work` (its own pytest.ini, the repo on
    PYTHONPATH, allure-pytest off) writing Allure results into `results`."""
    repo = Path(__file__).resolve().parents[1]
    env = dict(os.environ) | dict(env_extra)
    env["PYTHONPATH"] = os.pathsep.join([str(repo), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "pytest"),
            "-c",
            str(work / "pytest.ini"),
            "-p",
            "no:allure_pytest",
            "-p",
            "no:cacheprovider",
            "--alluredir",
            str(results),
            "-q",
            str(work),
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
