"""The `erdrill` command line. Commands only parse options and call library code."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from erdrill import __version__
from erdrill.errors import ErdrillError


@click.group()
@click.version_option(__version__, prog_name="erdrill")
def cli() -> None:
    """Failover drills for ExpressRoute with a site-to-site VPN backup."""


def _register() -> None:
    # Each command group lives beside the code it drives.
    from erdrill.cli_lab import lab

    cli.add_command(lab)
    for module, name in (("probes.cli", "probe"), ("reports.cli", "report")):
        try:
            mod = __import__(module, fromlist=[name])
        except ModuleNotFoundError:
            continue
        cli.add_command(getattr(mod, name))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; operator errors print one line, never a traceback."""
    _register()
    try:
        cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except ErdrillError as exc:
        click.echo(f"erdrill: error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("erdrill: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
