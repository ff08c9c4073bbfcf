"""Fixtures shared by the harness's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from labkit import make_topology

from lab.lab import Lab


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The reference lab, up for the whole test session, torn down at the end."""
    the_lab = Lab(make_topology(), run_root=tmp_path_factory.mktemp("labs"))
    the_lab.up()
    try:
        yield the_lab
    finally:
        the_lab.down()


@pytest.fixture
def healthy_lab(lab: Lab) -> Iterator[Lab]:
    """The session lab, back in its steady state after the test whatever the test did."""
    yield lab
    if lab.active_faults():
        lab.restore()
    lab.wait_healthy(timeout=30)
