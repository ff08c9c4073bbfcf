"""The `erdrill` command line: `main` parses and dispatches; each group lives in its module."""

from erdrill.cli.app import cli, main

__all__ = ["cli", "main"]
