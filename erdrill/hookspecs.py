"""Hooks the erdrill pytest plugin offers to other plugins (tests use them)."""

from __future__ import annotations

from typing import Any

__all__ = ["pytest_erdrill_drill_created"]


def pytest_erdrill_drill_created(drill: Any) -> None:
    """A scenario's drill was created and is about to run (set `drill.pause` here)."""
