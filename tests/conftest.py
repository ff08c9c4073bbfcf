"""Fixtures shared by the harness's own tests."""

from __future__ import annotations

import os
import re
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import back_to_steady_state, make_topology, running_lab

from lab.lab import Lab


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The reference lab, up for the whole test session, torn down at the end.

    Its run folder is its own temporary directory, not pytest's tmp_path: other pytest
    runs (the drill subprocesses of these tests) prune old tmp_path folders, sockets included.
    """
    with running_lab(make_topology()) as the_lab:
        yield the_lab


@pytest.fixture
def healthy_lab(lab: Lab) -> Iterator[Lab]:
    """The session lab, back in its steady state after the test whatever the test did."""
    yield lab
    back_to_steady_state(lab)


# A failed test that ran drills against its own workspace (tests/drillrun.py) keeps what
# they left, outside pytest's temporary folders (pruned after three runs): its drill
# records and outputs, stack dumps, the lab's event log and daemon logs.
ARTEFACTS = Path(os.environ.get("ERDRILL_TEST_ARTEFACTS", "/var/tmp/erdrill-test-artefacts"))


def _keep_artefacts(item: pytest.Item, ws: Any, since: float) -> list[str]:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)[-120:]
    dest = ARTEFACTS / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{name}"

    def skip(folder: str, names: list[str]) -> list[str]:  # sockets and fifos cannot be copied
        out = []
        for n in names:
            try:
                mode = os.lstat(os.path.join(folder, n)).st_mode
            except OSError:
                out.append(n)
                continue
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                out.append(n)
        return out

    shutil.copytree(ws.root, dest, ignore=skip, dirs_exist_ok=True)
    lines = [f"workspace copied to {dest}"]
    for path in sorted(dest.rglob("*")):
        if path.is_file() and path.stat().st_mtime >= since - 1:
            lines.append(f"  {path}")
    return lines


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if call.when == "setup":
        item.stash[_STARTED] = call.start
    ws = getattr(item, "funcargs", {}).get("ws")
    if report.failed and ws is not None and hasattr(ws, "root"):
        try:
            lines = _keep_artefacts(item, ws, item.stash.get(_STARTED, call.start))
        except Exception as exc:  # never hide the failure itself
            lines = [f"could not keep the artefacts: {exc!r}"]
        report.sections.append(("erdrill artefacts (this test's files)", "\n".join(lines)))
    return report


_STARTED = pytest.StashKey[float]()
