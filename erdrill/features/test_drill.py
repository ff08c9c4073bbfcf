"""Collects every scenario of the drill (pytest-bdd needs a test module to see .feature files)."""

from pytest_bdd import scenarios

scenarios(".")
