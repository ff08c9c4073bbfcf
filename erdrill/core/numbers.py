"""Numbers read from TOML: a whole number counts as a float, then its range is checked.

TOML writes `30` for thirty seconds; strict pydantic would refuse an int for a float.
Each type here accepts it once, in one place, and says what a bad value should be.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BeforeValidator

__all__ = ["Delay", "Milliseconds", "Rate", "Seconds"]


def _number(fits: Callable[[float], bool], expected: str) -> BeforeValidator:
    def check(v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if isinstance(v, float) and not (math.isfinite(v) and fits(v)):
            raise ValueError(f"{v} is not {expected}")
        return v  # anything else is left to the float type's own error

    return BeforeValidator(check)


Seconds = Annotated[float, _number(lambda v: v > 0, "a positive finite number of seconds")]
Milliseconds = Annotated[
    float, _number(lambda v: v > 0, "a positive finite number of milliseconds")
]
Delay = Annotated[float, _number(lambda v: v >= 0, "a finite number of seconds at least 0")]
Rate = Annotated[float, _number(lambda v: 0 <= v <= 1, "a rate between 0 and 1")]
