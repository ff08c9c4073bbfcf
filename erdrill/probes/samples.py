"""The timestamped sample every probe yields."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Outcome", "Protocol", "Sample"]


class Protocol(enum.StrEnum):
    ICMP = "icmp"
    TCP = "tcp"


class Outcome(enum.StrEnum):
    """What became of one probe."""

    REPLY = "reply"  # answered within the late threshold (TCP: SYN-ACK or RST)
    LATE = "late"  # answered, but after the late threshold: counts as lost
    LOST = "lost"  # never answered
    UNREACHABLE = "unreachable"  # an ICMP destination-unreachable came back


@dataclass(frozen=True, slots=True)
class Sample:
    """One probe: sent at `sent`, answered at `received` (wall-clock seconds, kernel stamps)."""

    target: str
    protocol: Protocol
    seq: int
    sent: float
    received: float | None
    outcome: Outcome
    ttl: int | None = None
    duplicates: int = 0  # extra replies seen for this probe
    precise: bool = True  # False for the unprivileged connect() fallback

    @property
    def answered(self) -> bool:
        return self.outcome is Outcome.REPLY

    @property
    def rtt_ms(self) -> float | None:
        if self.received is None:
            return None
        return (self.received - self.sent) * 1000.0

    @property
    def flow(self) -> str:
        """A probe stream: one target and protocol."""
        return f"{self.target}/{self.protocol.value}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["protocol"] = self.protocol.value
        d["outcome"] = self.outcome.value
        d["rtt_ms"] = self.rtt_ms
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Sample:
        return cls(
            target=d["target"],
            protocol=Protocol(d["protocol"]),
            seq=int(d["seq"]),
            sent=float(d["sent"]),
            received=None if d.get("received") is None else float(d["received"]),
            outcome=Outcome(d["outcome"]),
            ttl=d.get("ttl"),
            duplicates=int(d.get("duplicates", 0)),
            precise=bool(d.get("precise", True)),
        )
