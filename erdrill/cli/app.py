"""The `erdrill` command line. Commands only parse options and call library code."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from erdrill import __version__
from erdrill.core.errors import ErdrillError
from erdrill.core.exitcodes import ExitCode

__all__ = ["cli", "main", "repair_first"]


@click.group()
@click.version_option(__version__, prog_name="erdrill")
@click.option(
    "--allow-disruption",
    is_flag=True,
    help="Let the journal repair re-enable an Azure fault an earlier drill left in place.",
)
def cli(allow_disruption: bool) -> None:
    """Failover drills for ExpressRoute with a site-to-site VPN backup.

    Every command first repairs what a dead drill left (the fault journal): lab faults
    are undone; an Azure fault is undone only with --allow-disruption, else the command
    refuses (exit 15) and says exactly what is left.
    """
    repair_first(allow_disruption)


def repair_first(allow_disruption: bool = False) -> None:
    """Undo faults of drills that died (SIGKILL, power loss) before the command runs."""
    from erdrill.core.settings import DrillOptions
    from erdrill.targets.factory import repair_open_faults

    for line in repair_open_faults(DrillOptions(allow_disruption=allow_disruption)):
        click.echo(f"erdrill: undid a fault an earlier drill left in place: {line}", err=True)


def _register() -> None:
    # Each command group lives beside the code it drives.
    from erdrill.cli.lab import lab

    cli.add_command(lab)
    for module, name in (
        ("erdrill.cli.drill", "drill"),
        ("erdrill.cli.fleet", "fleet"),
        ("erdrill.cli.probe", "probe"),
        ("erdrill.cli.report", "report"),
        ("erdrill.cli.role", "role"),
        ("erdrill.cli.discover", "discover"),
        ("erdrill.cli.verify", "verify"),
        ("erdrill.cli.verify", "keygen"),
    ):
        try:
            mod = __import__(module, fromlist=[name])
        except ModuleNotFoundError:
            continue
        cli.add_command(getattr(mod, name))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; operator errors print one line, never a traceback."""
    _register()
    try:
        code = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except ErdrillError as exc:
        click.echo(f"erdrill: error: {exc}", err=True)
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("erdrill: interrupted", err=True)
        return int(ExitCode.ABORTED)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
