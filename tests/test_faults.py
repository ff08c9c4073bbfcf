"""core.faults.applied: journal first, undo in `finally`, every undo run, failures together;
the journal's kept entries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from erdrill.core import journal
from erdrill.core.faults import Fault, FaultLedger, FaultsNotUndone, applied, undo_every


@dataclass
class Recorded:
    """A fault that writes what happens to it into a shared log (and may fail on purpose)."""

    name: str
    log: list[str]
    fail_inject: bool = False
    fail_undo: bool = False
    moves_to_vpn: bool = True
    entry: dict[str, str] = field(default_factory=dict)

    def inject(self) -> None:
        self.log.append(f"inject {self.name}")
        if self.fail_inject:
            raise RuntimeError(f"{self.name} would not inject")

    def undo(self) -> None:
        self.log.append(f"undo {self.name}")
        if self.fail_undo:
            raise RuntimeError(f"{self.name} would not undo")

    def journal_entry(self) -> dict[str, str]:
        return {"target": "test", "fault": self.name}


def _open(ledger: FaultLedger) -> list[str]:
    return [str(e["fault"]) for e in journal.open_entries(ledger.key, ledger.state_dir)]


def test_a_fault_is_journaled_before_inject_and_cleared_after_undo(tmp_path: Path) -> None:
    log: list[str] = []
    ledger = FaultLedger("test-a", "run-1", tmp_path)
    fault = Recorded("cut", log)
    assert isinstance(fault, Fault)
    with applied([fault], ledger, injecting=lambda f: log.append(f"journaled {_open(ledger)}")):
        assert _open(ledger) == ["cut"]
        log.append("holding")
    assert log == ["journaled ['cut']", "inject cut", "holding", "undo cut"]
    assert _open(ledger) == []


def test_faults_are_undone_in_reverse_even_when_the_body_raises(tmp_path: Path) -> None:
    log: list[str] = []
    ledger = FaultLedger("test-b", "run-1", tmp_path)
    with pytest.raises(KeyError), applied([Recorded("a", log), Recorded("b", log)], ledger):
        raise KeyError("the scenario broke")
    assert log == ["inject a", "inject b", "undo b", "undo a"]
    assert _open(ledger) == []


def test_a_fault_whose_inject_failed_halfway_is_still_undone(tmp_path: Path) -> None:
    log: list[str] = []
    ledger = FaultLedger("test-c", "run-1", tmp_path)
    faults = [Recorded("a", log), Recorded("b", log, fail_inject=True), Recorded("c", log)]
    with pytest.raises(RuntimeError, match="b would not inject"), applied(faults, ledger):
        pytest.fail("the body must not run")
    assert log == ["inject a", "inject b", "undo b", "undo a"]  # c was never journaled
    assert _open(ledger) == []


def test_every_undo_runs_and_failures_are_reported_together(tmp_path: Path) -> None:
    log: list[str] = []
    ledger = FaultLedger("test-d", "run-1", tmp_path)
    faults = [
        Recorded("a", log, fail_undo=True),
        Recorded("b", log),
        Recorded("c", log, fail_undo=True),
    ]
    with pytest.raises(FaultsNotUndone) as caught, applied(faults, ledger):
        pass
    assert log[-3:] == ["undo c", "undo b", "undo a"]
    assert [name for name, _ in caught.value.failures] == ["c", "a"]
    assert (
        str(caught.value)
        == "undo of c failed: c would not undo; undo of a failed: a would not undo"
    )
    assert sorted(_open(ledger)) == ["a", "c"]  # left for the next run's repair


def test_the_undos_run_inside_the_guard(tmp_path: Path) -> None:
    log: list[str] = []

    class Guard:
        def __enter__(self) -> None:
            log.append("guard on")

        def __exit__(self, *_: object) -> None:
            log.append("guard off")

    with applied([Recorded("a", log)], FaultLedger("test-e", "r", tmp_path), guard=Guard):
        log.append("body")
    assert log == ["inject a", "body", "guard on", "undo a", "guard off"]


def test_failed_undos_are_raised_after_the_guard_closed_normally(tmp_path: Path) -> None:
    seen: list[object] = []

    class Guard:
        def __enter__(self) -> None:
            pass

        def __exit__(self, kind: object, *_: object) -> None:
            seen.append(kind)  # the drill's signal guard must see its block end normally

    with (
        pytest.raises(FaultsNotUndone, match="undo of a failed"),
        applied([Recorded("a", [], fail_undo=True)], FaultLedger("t", "r", tmp_path), guard=Guard),
    ):
        pass
    assert seen == [None]


def test_undo_every_runs_each_undo_in_order_and_names_every_failure() -> None:
    ran: list[str] = []

    def undo(name: str, fails: bool) -> Callable[[], None]:
        def act() -> None:
            ran.append(name)
            if fails:
                raise OSError(f"{name} is stuck")

        return act

    with pytest.raises(FaultsNotUndone) as caught:
        undo_every([("x", undo("x", True)), ("y", undo("y", False)), ("z", undo("z", True))])
    assert ran == ["x", "y", "z"]
    assert str(caught.value) == "undo of x failed: x is stuck; undo of z failed: z is stuck"
    undo_every([("ok", undo("ok", False))])  # nothing failed: nothing raised
    assert ran[-1] == "ok"


def test_repair_leaves_a_kept_entry_to_whoever_keeps_it(tmp_path: Path) -> None:
    """`erdrill lab fault` keeps its entry once injected; one never marked kept (the command
    died halfway) is repaired like a dead drill's."""
    for fault in ("kept-one", "half-done"):
        journal.open_entry("lab-x", "erdrill lab fault", fault, {"target": "lab"}, tmp_path)
    journal.keep_entry("lab-x", "kept-one", tmp_path)
    undone: list[str] = []
    done = journal.repair({"lab": lambda e: undone.append(str(e["fault"]))}, tmp_path)
    assert undone == ["half-done"] and len(done) == 1
    [left] = journal.open_entries("lab-x", tmp_path)
    assert left["fault"] == "kept-one" and left[journal.KEPT] is True
