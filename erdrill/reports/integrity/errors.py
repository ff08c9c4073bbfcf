"""Evidence errors and verification results: `Finding` lines grouped in an `ItemReport`."""

from __future__ import annotations

from dataclasses import dataclass, field

from erdrill.core.errors import ErdrillError

__all__ = [
    "EXIT_ALTERED",
    "EvidenceAltered",
    "EvidenceError",
    "Finding",
    "ItemReport",
]

EXIT_ALTERED = 1
"""`erdrill verify`'s exit code when any evidence is altered, missing, added or unsigned."""


class EvidenceError(ErdrillError):
    """Evidence cannot be sealed or read as asked (a missing path, an unusable key)."""


class EvidenceAltered(ErdrillError):
    """Verification found evidence altered, missing, added or not signed as required."""

    exit_code = EXIT_ALTERED


_NOT_PROBLEMS = frozenset({"note"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One verification result line: ``kind: where: detail``.

    Kinds: altered, missing, added, deleted, reordered, inserted, unsigned,
    bad-signature (problems) and note (legacy lines, unchecked signatures).
    """

    kind: str
    where: str
    detail: str

    @property
    def problem(self) -> bool:
        return self.kind not in _NOT_PROBLEMS

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}: {self.detail}"


@dataclass(slots=True)
class ItemReport:
    """The verification of one drill folder, bundle or history file."""

    item: str
    what: str  # "drill folder", "bundle", "history"
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""

    @property
    def ok(self) -> bool:
        return not any(f.problem for f in self.findings)

    def lines(self) -> list[str]:
        """The report as printed: every finding, then ``ok: ...`` when nothing is wrong."""
        out = [str(f) for f in self.findings]
        if self.ok:
            out.append(f"ok: {self.item}: {self.summary}")
        return out
