"""Helpers for tests that build their own labs."""

from __future__ import annotations

import os
from pathlib import Path

from lab.topology import Topology, load_topology

# per test session: two sessions on one machine (a soak beside a CI run) never share a lab
TEST_PREFIX = f"erd-test-{os.getpid() % 100000}"


def make_topology(path: Path | str | None = None, prefix: str = TEST_PREFIX) -> Topology:
    """A topology with the tests' own namespace prefix, so tests never touch a user's lab."""
    return load_topology(path).model_copy(update={"prefix": prefix})
