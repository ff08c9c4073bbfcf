"""Fixtures shared by the harness's own tests, and the tiers they fall in.

Every test is marked with one tier from the fixtures it uses (`pytest -m pure` is the
fast lane; README "Run the tests"):
- `drill`: whole drills in subprocesses (`ws`, `azure_drill`, `drill_workspace`);
- `lab`: root, namespaces and the real daemons (`lab`, `healthy_lab`, `lab_prefix`, ...);
- `face`: the Azure face, an HTTPS server in the test process (`face`, `slow_face`);
- `pure`: none of these. A pure test that builds a namespace, a lab or a face fails,
  naming the fixture it should ask for, so a test cannot sit in the wrong tier.
`slow` (a single test of minutes) is set by hand and left out of the two fast lanes.
"""

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
from labkit import TEST_PREFIX, back_to_steady_state, make_topology, running_lab
from wheelkit import build_dist, make_venv

from erdrill.lab.lab import Lab

TIERS: dict[str, frozenset[str]] = {  # the costliest tier first
    "drill": frozenset({"ws", "azure_drill", "drill_workspace"}),
    "lab": frozenset(
        {
            "lab",
            "healthy_lab",
            "lab_prefix",
            "testbed",
            "redundant",
            "healthy",
            "hold_timer_lab",
            "firewalled_reference",
            "prefers_vpn_firewall",
        }
    ),
    "face": frozenset({"face", "slow_face", "face_server"}),
}


def tier_of(fixturenames: set[str]) -> str:
    """The tier of a test that uses these fixtures: drill, lab, face or pure."""
    return next((tier for tier, names in TIERS.items() if fixturenames & names), "pure")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(name) for name in (*TIERS, "pure")):
            item.add_marker(tier_of(set(getattr(item, "fixturenames", ()))))


def _refuse(what: str, fixture: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(
            f"a {what} in a test of a cheaper tier: ask for the `{fixture}` fixture "
            "(tests/conftest.py TIERS) so the test is marked with its tier"
        )

    return refuse


@pytest.fixture(autouse=True)
def _stay_in_tier(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pure test cannot build namespaces or start a face; a face test cannot build a lab."""
    marks = {m.name for m in request.node.iter_markers()}
    if marks & {"drill", "lab"}:
        return
    import pyroute2

    from erdrill.armface import server

    monkeypatch.setattr(pyroute2.netns, "create", _refuse("network namespace", "lab_prefix"))
    monkeypatch.setattr(Lab, "up", _refuse("lab", "lab_prefix"))
    if "face" not in marks:
        monkeypatch.setattr(server.Server, "__init__", _refuse("face", "face_server"))


@pytest.fixture
def drill_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder for drills the test runs in subprocesses, with its own journal and lab
    run folders (marks the test `drill`)."""
    monkeypatch.setenv("ERDRILL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("ERDRILL_LAB_ROOT", str(tmp_path / "labs"))
    return tmp_path


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel and sdist built from a clean export of the repository (tests/wheelkit.py)."""
    return build_dist(tmp_path_factory.mktemp("dist"))


@pytest.fixture
def fresh_venv(drill_workspace: Path, dist: Path) -> Path:
    """A venv outside the checkout with the wheel and its locked dependencies only."""
    return make_venv(drill_workspace / "venv", dist)


@pytest.fixture
def lab_prefix() -> str:
    """A namespace prefix for a lab the test builds itself (marks the test `lab`)."""
    return f"{TEST_PREFIX[:12]}-o"


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
