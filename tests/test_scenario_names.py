"""A drill is named as the feature file names its scenario (as the Allure report does):
the Gherkin title with the outline row filled in, the feature file and the row's values."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

FEATURE = """\
@lab
Feature: A feature
  @disruptive
  Scenario Outline: <fault>: traffic moves to <path> and back
    Given the name is kept

    Examples:
      | fault              | path    | limit |
      | provider-blackhole | the VPN | 2000  |
"""

TESTS = """\
import json
from pathlib import Path
from pytest_bdd import given, scenarios
from erdrill.pytest_reports import gherkin_scenario

scenarios("names.feature")

@given("the name is kept")
def keep(request):
    s = gherkin_scenario(request.node)
    Path("seen.json").write_text(json.dumps(s.__dict__))
"""


def test_the_gherkin_title_feature_file_and_row(pytester: pytest.Pytester) -> None:
    pytester.makefile(".feature", names=FEATURE)
    pytester.makepyfile(test_names=TESTS)
    pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:allure_pytest"
    ).assert_outcomes(passed=1)
    seen = json.loads((pytester.path / "seen.json").read_text())
    assert seen["title"] == "provider-blackhole: traffic moves to the VPN and back"
    assert seen["feature"].endswith("names.feature")
    assert seen["example"] == {"fault": "provider-blackhole", "path": "the VPN", "limit": "2000"}
    assert seen["tags"] == ["disruptive", "lab"]
