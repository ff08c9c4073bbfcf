"""`erdrill report`: build the single-file HTML drill report from the Allure results."""

from __future__ import annotations

from pathlib import Path

import click

from erdrill.reports.build import (
    DEFAULT_ALLURE_HISTORY,
    DEFAULT_REPORT,
    DEFAULT_RESULTS,
    build_report,
)

__all__ = ["report"]


@click.command("report")
@click.option(
    "--results",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_RESULTS,
    show_default=True,
    help="Allure results folder written by the drill (pytest --alluredir).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_REPORT,
    show_default=True,
    help="The single-file HTML report to write.",
)
@click.option(
    "--history",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_ALLURE_HISTORY,
    show_default=True,
    help="Allure history (JSON lines) that carries trends across drills.",
)
@click.option("--name", default="erdrill drill report", show_default=True, help="Report title.")
def report(results: Path, out: Path, history: Path, name: str) -> None:
    """Build the HTML drill report with Allure 3, keeping history across drills."""
    built = build_report(results, out, history, name=name)
    click.echo(
        f"report: {built.html} ({built.tests} test results, "
        f"{built.history_entries} builds in {built.history})"
    )
