"""Helpers for tests that build their own labs."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from erdrill.lab.lab import Lab
from erdrill.lab.topology import Topology, load_topology

# per test session: two sessions on one machine (a soak beside a CI run) never share a lab
TEST_PREFIX = f"erd-test-{os.getpid() % 100000}"


def make_topology(path: Path | str | None = None, prefix: str = TEST_PREFIX) -> Topology:
    """A topology with the tests' own namespace prefix, so tests never touch a user's lab."""
    return load_topology(path).model_copy(update={"prefix": prefix})


def extended_topology(folder: Path, prefix: str, body: str = "") -> Topology:
    """The default topology with prefix `prefix` and the YAML `body` merged over it."""
    path = folder / "topology.yaml"
    path.write_text(f"extends: default\nprefix: {prefix}\n{body}", encoding="utf-8")
    return load_topology(path)


@contextlib.contextmanager
def running_lab(topology: Topology, timeout: float = 30.0) -> Iterator[Lab]:
    """A lab of `topology`, up (to steady state) for the block and torn down after it.

    Its run folder is its own temporary directory, not pytest's tmp_path: other pytest
    runs (the drill subprocesses of these tests) prune old tmp_path folders, sockets included.
    """
    root = Path(tempfile.mkdtemp(prefix="erdrill-test-labs-"))
    lab = Lab(topology, run_root=root, state_dir=root / "state")
    lab.up(timeout=timeout)
    try:
        yield lab
    finally:
        lab.down()
        shutil.rmtree(root, ignore_errors=True)


def back_to_steady_state(lab: Lab) -> None:
    """Undo whatever faults a test left on `lab` and wait until it is healthy again."""
    if lab.active_faults():
        lab.restore()
    lab.wait_healthy(timeout=30)
