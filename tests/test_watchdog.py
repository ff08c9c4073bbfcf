"""The watchdog: an undo that stops answering is left behind, and a fresh process undoes the fault."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from erdrill.core import journal
from erdrill.core.faults import Fault
from erdrill.core.outcomes import Outcome, Verdict
from erdrill.core.paths import ON_EXPRESSROUTE, ON_VPN
from erdrill.core.settings import DrillSettings
from erdrill.drill.engine import Drill
from erdrill.drill.watchdog import second_path
from erdrill.lab.lab import Lab
from erdrill.targets.lab import LabTarget


@dataclass
class FrozenUndo:
    """A real lab fault whose first undo path stops answering, as a hung daemon or face would."""

    real: Fault
    thaw: threading.Event

    @property
    def name(self) -> str:
        return self.real.name

    @property
    def moves_to_vpn(self) -> bool:
        return self.real.moves_to_vpn

    def inject(self) -> None:
        self.real.inject()

    def undo(self) -> None:
        self.thaw.wait()  # never answers while the test runs

    def journal_entry(self) -> dict[str, str]:
        return self.real.journal_entry()


class FrozenLabTarget(LabTarget):
    def __init__(self, lab: Lab, thaw: threading.Event) -> None:
        super().__init__(lab)
        self.thaw = thaw

    def fault(self, name: str) -> Fault:
        return FrozenUndo(super().fault(name), self.thaw)


@pytest.fixture
def thaw() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # let the abandoned undo thread end


def test_a_frozen_undo_is_taken_over_by_a_fresh_process(
    healthy_lab: Lab, tmp_path: Path, thaw: threading.Event
) -> None:
    settings = DrillSettings(rate=50, sustain_s=0.5, undo_timeout_s=2.0)
    d = Drill(
        FrozenLabTarget(healthy_lab, thaw),
        settings,
        drills_dir=tmp_path,
        state_dir=healthy_lab.state_dir,
    )
    d.begin()
    d.start_probes()
    d.inject("provider-link-down")
    d.await_paths(ON_VPN, 10.0, "failover")
    d.close(Outcome(Verdict.PASSED))
    rec = d.record
    assert rec.watchdog is not None, rec.findings
    assert rec.watchdog["bound_s"] == 2.0 and len(rec.watchdog["undone"]) == 1, rec.watchdog
    assert "provider-link-down" in rec.watchdog["undone"][0]
    assert rec.watchdog["paths"] == ON_EXPRESSROUTE.to_dict()
    assert any(f.startswith("watchdog: the undo of provider-link-down did not finish within 2 s")
               for f in rec.findings), rec.findings  # fmt: skip
    assert rec.verdict == "passed" and rec.paths["after"].forward == "expressroute"
    assert journal.open_entries(d.key, tmp_path) == []
    assert healthy_lab.active_faults() == [] and healthy_lab.paths() == ON_EXPRESSROUTE
    saved = (tmp_path / rec.run_id / "drill.json").read_text()
    assert '"watchdog"' in saved and "fresh process reading the fault journal" in saved


def test_the_second_path_cannot_be_replaced_from_the_callers_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rescue process imports erdrill's own rescue, whatever the caller's directory or
    PYTHONPATH holds: a user's `targets/` or `erdrill/` folder is never run in its place."""
    marker = tmp_path / "impostor-ran"
    impostor = f"open({str(marker)!r}, 'w').write('ran')\n"
    for pkg in ("targets", "erdrill", "erdrill/targets"):
        (tmp_path / pkg).mkdir(exist_ok=True)
        (tmp_path / pkg / "__init__.py").write_text("")
        (tmp_path / pkg / "rescue.py").write_text(impostor)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    rescue = second_path("lab-nothing-here", tmp_path / "state", False, 60)
    assert not marker.exists()
    assert rescue.error is None and rescue.undone == []
