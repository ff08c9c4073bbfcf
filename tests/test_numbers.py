"""core.numbers: a whole number counts as a float, a value out of range fails naming it."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from erdrill.core.numbers import Delay, Milliseconds, Rate, Seconds


class Limits(BaseModel):
    model_config = ConfigDict(strict=True)

    wait_s: Seconds = 1.0
    late_ms: Milliseconds = 1.0
    delay_s: Delay | None = None
    rate: Rate = 0.0


def test_whole_numbers_are_read_as_floats() -> None:
    limits = Limits.model_validate({"wait_s": 30, "late_ms": 500, "delay_s": 0, "rate": 1})
    assert (limits.wait_s, limits.late_ms, limits.delay_s, limits.rate) == (30.0, 500.0, 0.0, 1.0)
    assert all(isinstance(v, float) for v in limits.model_dump().values())
    assert Limits().delay_s is None


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("wait_s", 0, "0.0 is not a positive finite number of seconds"),
        ("wait_s", float("inf"), "inf is not a positive finite number of seconds"),
        ("late_ms", -1.5, "-1.5 is not a positive finite number of milliseconds"),
        ("delay_s", -1, "-1.0 is not a finite number of seconds at least 0"),
        ("rate", 1.5, "1.5 is not a rate between 0 and 1"),
        ("rate", True, "Input should be a valid number"),  # a bool is not a number here
    ],
)
def test_a_value_out_of_range_names_what_it_should_be(
    field: str, value: object, problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        Limits.model_validate({field: value})
