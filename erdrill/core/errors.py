"""One exception tree for everything erdrill reports to an operator.

Every message is one line that names the subject, the bad value and the fix.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EnvironmentProblem",
    "ErdrillError",
    "LabError",
    "ProbeRefused",
    "TargetError",
]


class ErdrillError(Exception):
    """Base of every error erdrill reports to an operator as one line."""

    exit_code = 2


class ConfigError(ErdrillError):
    """Bad input in a topology file, a drill config or a command-line option."""

    def __init__(self, source: str, field: str, problem: str, fix: str = "") -> None:
        self.source = source
        self.field = field
        self.problem = problem
        self.fix = fix
        tail = f"; {fix}" if fix else ""
        super().__init__(f"{source}: {field}: {problem}{tail}")


class EnvironmentProblem(ErdrillError):
    """The machine cannot run what was asked (not root, a daemon binary missing, ...)."""


class LabError(ErdrillError):
    """The lab could not be built, checked or changed."""


class ProbeRefused(ErdrillError):
    """A probe target is not allowed (for example an address outside the lab)."""


class TargetError(ErdrillError):
    """The drill target (lab or Azure) failed an operation."""
