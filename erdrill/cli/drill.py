"""`erdrill drill`: the drill's scenarios as installed with erdrill, run by pytest."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import click
import pytest

__all__ = ["FEATURES", "drill"]

FEATURES = Path(str(files("erdrill.features")))


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def drill(ctx: click.Context, pytest_args: tuple[str, ...]) -> None:
    """Run the drill's scenarios installed with erdrill (the same as `pytest features/`
    in a checkout). Every argument goes to pytest: --target, --drill-config,
    --lab-topology, --allow-disruption, --plan, -k, -m ...; the exit code is the drill's."""
    args = [str(FEATURES), "-p", "no:cacheprovider", "-p", "no:allure_pytest", *pytest_args]
    if not any(a.startswith("--rootdir") for a in pytest_args):
        # Allure names each feature by its path under the rootdir: installed, that is the
        # folder holding the erdrill package, not the operator's working directory.
        args.append(f"--rootdir={FEATURES.parents[1]}")
    ctx.exit(int(pytest.main(args)))
