"""Helpers for tests that build their own labs."""

from __future__ import annotations

from pathlib import Path

from lab.topology import Topology, load_topology

TEST_PREFIX = "erd-test"


def make_topology(path: Path | str | None = None, prefix: str = TEST_PREFIX) -> Topology:
    """A topology with the tests' own namespace prefix, so tests never touch a user's lab."""
    return load_topology(path).model_copy(update={"prefix": prefix})
