"""The steady state a drill starts from, and each way a network can miss it, typed."""

from __future__ import annotations

import contextlib
import enum
from dataclasses import dataclass

from erdrill.core.outcomes import SteadyStateViolation
from erdrill.core.paths import PathKind, PathPair
from erdrill.core.record import PathsAt
from erdrill.targets.target import Health, Target

__all__ = [
    "PREFIX_PROBLEMS",
    "Assessment",
    "Problem",
    "ProblemKind",
    "SteadyState",
    "paths_at",
    "steady_state_problems",
]


class ProblemKind(enum.StrEnum):
    SESSION_DOWN = "session-down"
    TUNNEL_DOWN = "tunnel-down"
    ASYMMETRIC = "asymmetric-routing"
    NOT_ON_EXPRESSROUTE = "not-on-expressroute"
    VPN_MORE_SPECIFIC = "vpn-more-specific"
    NO_VPN_BACKUP = "no-vpn-backup"


# The problems about which prefixes each path carries (not about sessions or paths).
PREFIX_PROBLEMS = frozenset({ProblemKind.VPN_MORE_SPECIFIC, ProblemKind.NO_VPN_BACKUP})


@dataclass(frozen=True)
class Problem:
    """One way the network is not in its steady state, in an engineer's words."""

    kind: ProblemKind
    text: str

    def __str__(self) -> str:
        return self.text


def steady_state_problems(
    health: Health, learned: dict[str, dict[str, list[str]]]
) -> list[Problem]:
    """Why the network is not in its steady state (empty if it is)."""
    problems = [
        Problem(ProblemKind.SESSION_DOWN, f"BGP session {name} is {state}")
        for name, state in health.bgp.items()
        if state != "established"
    ]
    if health.tunnel != "up":
        problems.append(Problem(ProblemKind.TUNNEL_DOWN, "the IPsec tunnel is down"))
    p = health.paths
    if not p.symmetric:
        for direction, label, kind in (
            ("forward", "on-premises to Azure", p.forward),
            ("return", "Azure to on-premises", p.return_),
        ):
            if kind is not PathKind.EXPRESSROUTE:
                problems.append(
                    Problem(
                        ProblemKind.ASYMMETRIC,
                        f"asymmetric routing: the {direction} direction ({label}) uses "
                        f"{kind.value} while the other uses expressroute",
                    )
                )
    elif p.forward is not PathKind.EXPRESSROUTE:
        problems.append(
            Problem(
                ProblemKind.NOT_ON_EXPRESSROUTE,
                f"both directions use {p.forward.value}, not ExpressRoute",
            )
        )
    for side, paths in learned.items():
        er, vpn = set(paths.get("expressroute", [])), set(paths.get("vpn", []))
        if vpn - er:
            problems.append(
                Problem(
                    ProblemKind.VPN_MORE_SPECIFIC,
                    f"{side} side: the VPN carries prefixes ExpressRoute does not "
                    f"({', '.join(sorted(vpn - er))}): more-specific prefixes over the VPN "
                    "win permanently",
                )
            )
        if er - vpn:
            problems.append(
                Problem(
                    ProblemKind.NO_VPN_BACKUP,
                    f"{side} side: prefixes known only over ExpressRoute "
                    f"({', '.join(sorted(er - vpn))}) have no VPN backup",
                )
            )
    return problems


@dataclass(frozen=True)
class Assessment:
    """The steady state as read: the health, what misses it, and what is only information."""

    health: Health
    problems: list[Problem]
    information: list[str]


class SteadyState:
    """Checks one target's steady state; reads the target, writes nothing."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def assess(self) -> Assessment:
        """The health, its problems, and the other prefixes each side learns (information)."""
        health = self.target.health()
        problems = steady_state_problems(health, self.target.learned_prefixes())
        information: list[str] = []
        with contextlib.suppress(Exception):  # information must never fail the check
            for side, by_path in self.target.other_prefixes().items():
                for path, prefixes in by_path.items():
                    if prefixes:
                        information.append(
                            f"{side} side also learns over {path}: {', '.join(prefixes)} "
                            "(not the drill's prefixes: not compared)"
                        )
        return Assessment(health, problems, information)

    def check_sessions(self) -> None:
        """Every BGP session of the target is established."""
        down = {k: v for k, v in self.target.health().bgp.items() if v != "established"}
        if down:
            raise SteadyStateViolation(f"BGP sessions not established: {down}")

    def check_tunnel(self) -> None:
        if self.target.health().tunnel != "up":
            raise SteadyStateViolation("the IPsec tunnel is down")

    def check_same_prefixes(self) -> None:
        """Both paths carry the same prefixes on both sides."""
        problems = [
            p
            for p in steady_state_problems(self.target.health(), self.target.learned_prefixes())
            if p.kind in PREFIX_PROBLEMS
        ]
        if problems:
            raise SteadyStateViolation("; ".join(p.text for p in problems), problems)


def paths_at(p: PathPair) -> PathsAt:
    """A path pair as the record keeps it."""
    return PathsAt(forward=p.forward.value, **{"return": p.return_.value})
