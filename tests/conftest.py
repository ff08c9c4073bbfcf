"""Fixtures shared by the harness's own tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from labkit import make_topology

from lab.lab import Lab


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The reference lab, up for the whole test session, torn down at the end.

    Its run folder is its own temporary directory, not pytest's tmp_path: other pytest
    runs (the drill subprocesses of these tests) prune old tmp_path folders, sockets included.
    """
    root = Path(tempfile.mkdtemp(prefix="erdrill-test-labs-"))
    the_lab = Lab(make_topology(), run_root=root)
    the_lab.up()
    try:
        yield the_lab
    finally:
        the_lab.down()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def healthy_lab(lab: Lab) -> Iterator[Lab]:
    """The session lab, back in its steady state after the test whatever the test did."""
    yield lab
    if lab.active_faults():
        lab.restore()
    lab.wait_healthy(timeout=30)
