"""The report's failure categories (Allure categories.json), from core.outcomes' one table.

Failure messages start with a fixed prefix so the report sorts failures by cause:

* ``limit exceeded: <what> <measured> > limit <limit>`` (build with `limit_exceeded`)
* ``did not fail over: <what happened>`` (build with `no_failover`)

Anything else that breaks a drill lands in "Harness or environment error".
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Final

from erdrill.core.files import write_atomic
from erdrill.core.outcomes import (
    CATEGORIES as OUTCOME_CATEGORIES,
)
from erdrill.core.outcomes import (
    LIMIT_EXCEEDED_PREFIX,
    NO_FAILOVER_PREFIX,
    Category,
    LimitExceeded,
    NoFailover,
)

__all__ = [
    "CATEGORIES",
    "CATEGORY_HARNESS_ERROR",
    "CATEGORY_LIMIT_EXCEEDED",
    "CATEGORY_NO_FAILOVER",
    "LIMIT_EXCEEDED_PREFIX",
    "NO_FAILOVER_PREFIX",
    "LimitExceeded",
    "NoFailover",
    "classify",
    "failure_category",
    "limit_exceeded",
    "no_failover",
    "write_categories",
]

CATEGORY_LIMIT_EXCEEDED: Final = OUTCOME_CATEGORIES[Category.LIMIT_EXCEEDED].report_name
CATEGORY_NO_FAILOVER: Final = OUTCOME_CATEGORIES[Category.NO_FAILOVER].report_name
CATEGORY_HARNESS_ERROR: Final = OUTCOME_CATEGORIES[Category.HARNESS_ERROR].report_name

# Allure gives a failure the first category that matches: those told apart by their
# message first, then the harness error, which takes every failure left.
_ORDER: Final = (Category.LIMIT_EXCEEDED, Category.NO_FAILOVER, Category.HARNESS_ERROR)


def _entry(category: Category) -> dict[str, Any]:
    info = OUTCOME_CATEGORIES[category]
    entry: dict[str, Any] = {"name": info.report_name, "description": info.description}
    if info.message_regex is None:
        entry["matchedStatuses"] = ["broken", "failed"]
    else:
        entry["matchedStatuses"] = ["failed", "broken"]
        entry["messageRegex"] = info.message_regex
    return entry


CATEGORIES: Final[list[dict[str, Any]]] = [_entry(c) for c in _ORDER]
_SLUGS: Final = {OUTCOME_CATEGORIES[c].report_name: c.value for c in _ORDER}


def limit_exceeded(
    what: str, measured: float, limit: float, unit: str = "ms", detail: str = ""
) -> str:
    """``limit exceeded: failover outage 2350 ms > limit 1000 ms[; detail]``."""
    tail = f"; {detail}" if detail else ""
    return f"{LIMIT_EXCEEDED_PREFIX} {what} {measured:g} {unit} > limit {limit:g} {unit}{tail}"


def no_failover(detail: str) -> str:
    """``did not fail over: <detail>``, e.g. which flow stayed on which path."""
    return f"{NO_FAILOVER_PREFIX} {detail}"


def classify(message: str | None, status: str = "failed") -> str | None:
    """The category name Allure will give a result, or None (passed, skipped, unmatched)."""
    for cat in CATEGORIES:
        if status not in cat["matchedStatuses"]:
            continue
        regex = cat.get("messageRegex")
        if regex is None or re.fullmatch(regex, message or ""):
            return str(cat["name"])
    return None


def failure_category(message: str | None, status: str = "failed") -> str | None:
    """The `DrillRecord.failure_category` slug: limit-exceeded, no-failover or harness-error."""
    name = classify(message, status)
    return None if name is None else _SLUGS[name]


def write_categories(results_dir: Path) -> Path:
    """Write categories.json into the Allure results folder."""
    path = results_dir / "categories.json"
    write_atomic(path, json.dumps(CATEGORIES, indent=2) + "\n")
    return path
