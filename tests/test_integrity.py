"""Tamper-evident evidence: manifests, the hash-chained history, signatures, bundles, verify.

Everything runs on real files in tmp_path; the CLI runs through `erdrill.cli.main` (the
entry point, with the fault journal pointed at an empty folder) and once as a subprocess.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import multiprocessing
import os
import stat
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from erdrill import pytest_reports as session
from erdrill.cli import main
from erdrill.core import journal
from erdrill.core.record import DrillRecord, TransitionFigures, save
from erdrill.probes.samples import Outcome, Protocol, Sample
from erdrill.reports import evidence, history, integrity
from erdrill.reports.timeline import plot_timeline

T0 = 1_700_000_000.0


def _record(run_id: str, **extra: Any) -> DrillRecord:
    fields: dict[str, Any] = {
        "run_id": run_id,
        "target": "lab",
        "fault": "provider-link-down",
        "scenario": "The documented test plan",
        "started_at": "2025-01-01T00:00:00Z",
        "verdict": "passed",
        "failover": TransitionFigures(outage_ms=412.0, sent=600, lost=40),
    }
    fields.update(extra)
    return DrillRecord(**fields)


def _samples() -> list[Sample]:
    out = []
    for seq in range(200):
        sent = T0 + seq * 0.01
        if 1.0 <= sent - T0 < 1.2:
            out.append(Sample("10.1.1.4", Protocol.ICMP, seq, sent, None, Outcome.LOST))
        else:
            out.append(Sample("10.1.1.4", Protocol.ICMP, seq, sent, sent + 0.002, Outcome.REPLY))
    return out


@dataclass
class DrillOnDisk:
    """A finished drill on disk: its folder, the history and the folder for bundles."""

    root: Path
    run_dir: Path
    history: Path
    bundles: Path

    @property
    def bundle(self) -> Path:
        return self.bundles / f"{self.run_dir.name}.tar.gz"


def _drill(root: Path, run_id: str = "20250101T000000Z-r1") -> Path:
    drills = root / "reports" / "drills"
    rec = _record(run_id)
    samples = _samples()
    run_dir = drills / run_id
    rec.files.update(evidence.write_evidence(run_dir, samples))
    plot_timeline(samples, [{"wall": T0 + 1.0, "kind": "fault"}], [], run_dir / "timeline.png")
    save(rec, drills)
    return run_dir


@pytest.fixture
def finished(tmp_path: Path) -> DrillOnDisk:
    run_dir = _drill(tmp_path)
    hist = tmp_path / "reports" / "history" / "drills.jsonl"
    for i in range(1, 5):
        history.append(_record(f"r{i}"), hist)
    integrity.seal_drill(run_dir, history=hist)
    return DrillOnDisk(tmp_path, run_dir, hist, tmp_path / "reports" / "bundles")


@pytest.fixture
def erdrill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    """Run `erdrill ARGS...` in-process; returns (exit code, stdout lines, stderr)."""
    monkeypatch.setattr(journal, "STATE_DIR", tmp_path / "state")  # no journal to repair

    def run(*args: str | Path) -> tuple[int, list[str], str]:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out.splitlines(), captured.err

    return run


def _lines_with(lines: list[str], *words: str) -> list[str]:
    return [line for line in lines if all(w in line for w in words)]


# --- sealing ----------------------------------------------------------------------------------


def test_manifest_lists_every_file_with_hash_and_size(finished: DrillOnDisk) -> None:
    manifest = json.loads((finished.run_dir / "manifest.json").read_text())
    assert manifest["run_id"] == finished.run_dir.name
    assert manifest["schema"] == integrity.MANIFEST_SCHEMA
    assert manifest["created_at"].endswith("Z")
    paths = [f["path"] for f in manifest["files"]]
    assert paths == sorted(paths) == ["drill.json", "samples.csv", "timeline.png"]
    csv_entry = manifest["files"][1]
    assert csv_entry["size"] == (finished.run_dir / "samples.csv").stat().st_size
    assert len(csv_entry["sha256"]) == 64
    assert manifest["key_fingerprint"] is None
    assert not (finished.run_dir / "manifest.sig").exists()


def test_bundle_is_reproducible_and_holds_the_sealed_folder(
    finished: DrillOnDisk, tmp_path: Path
) -> None:
    first = finished.bundle.read_bytes()
    again = integrity.bundle_drill(finished.run_dir, tmp_path / "again")
    assert again.read_bytes() == first
    with tarfile.open(finished.bundle) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    run = finished.run_dir.name
    assert names == sorted(names)
    assert set(names) == {
        f"{run}/{n}" for n in ("drill.json", "manifest.json", "samples.csv", "timeline.png")
    }
    assert len({m.mtime for m in members}) == 1 and {m.uid for m in members} == {0}


def test_history_lines_form_a_hash_chain(finished: DrillOnDisk) -> None:
    lines = finished.history.read_bytes().splitlines(keepends=True)
    entries = [json.loads(line) for line in lines]
    assert entries[0]["prev"] == integrity.GENESIS
    for before, entry in zip(lines, entries[1:], strict=False):
        assert entry["prev"] == hashlib.sha256(before).hexdigest()
    assert all(e["hash"] == integrity.entry_hash(e) for e in entries)
    back = history.read(finished.history)  # chain fields do not leak into the records
    assert [r.run_id for r in back] == ["r1", "r2", "r3", "r4"]
    assert "hash" not in (back[0].model_extra or {})


# --- verify: intact and altered ---------------------------------------------------------------


def test_verify_passes_on_a_fresh_drill_history_and_bundle(
    finished: DrillOnDisk, erdrill: Any
) -> None:
    code, out, err = erdrill("verify", finished.run_dir, finished.history, finished.bundle)
    assert code == 0, [*out, err]
    assert len(_lines_with(out, "ok:")) == 3
    assert _lines_with(out, "ok:", str(finished.run_dir), "3 files match the manifest")
    assert _lines_with(out, "ok:", str(finished.history), "4 chained lines intact")


def test_one_changed_byte_in_the_samples_is_named(finished: DrillOnDisk, erdrill: Any) -> None:
    csv_path = finished.run_dir / "samples.csv"
    data = bytearray(csv_path.read_bytes())
    data[200] ^= 0x01
    csv_path.write_bytes(bytes(data))
    code, out, err = erdrill("verify", finished.run_dir)
    assert code == integrity.EXIT_ALTERED == 1
    assert out == [f"altered: {csv_path}: SHA-256 differs from the manifest ({len(data)} bytes)"]
    assert "evidence altered" in err and str(finished.run_dir) in err and "Traceback" not in err


def test_added_and_missing_files_are_named(finished: DrillOnDisk, erdrill: Any) -> None:
    (finished.run_dir / "notes.txt").write_text("added later\n")
    (finished.run_dir / "timeline.png").unlink()
    code, out, _ = erdrill("verify", finished.run_dir)
    assert code == 1
    assert f"added: {finished.run_dir / 'notes.txt'}: not in the manifest" in out
    assert (
        f"missing: {finished.run_dir / 'timeline.png'}: listed in the manifest, not present" in out
    )


def test_a_deleted_history_line_is_named(finished: DrillOnDisk, erdrill: Any) -> None:
    lines = finished.history.read_bytes().splitlines(keepends=True)
    finished.history.write_bytes(b"".join(lines[:1] + lines[2:]))  # drop line 2 (run r2)
    code, out, _ = erdrill("verify", finished.history)
    assert code == 1
    assert out == [
        f"deleted: {finished.history}:2: (run r3) the line it was chained to is gone: a line was "
        "deleted between lines 1 and 2 (or line 1 was rewritten)"
    ]


def test_two_swapped_history_lines_are_named_once(finished: DrillOnDisk, erdrill: Any) -> None:
    lines = finished.history.read_bytes().splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]
    finished.history.write_bytes(b"".join(lines))
    code, out, _ = erdrill("verify", finished.history)
    assert code == 1
    assert len(out) == 1, out
    assert out[0].startswith(f"reordered: {finished.history}:2: (run r3) lines 2 and 3 are swapped")


def test_an_edited_history_line_is_named(finished: DrillOnDisk, erdrill: Any) -> None:
    text = finished.history.read_text()
    finished.history.write_text(text.replace('"verdict":"passed"', '"verdict":"failed"', 1))
    code, out, _ = erdrill("verify", finished.history)
    assert code == 1
    assert out == [f"altered: {finished.history}:1: (run r1) its content does not match its hash"]


def test_a_legacy_history_still_loads_and_is_reported_as_such(tmp_path: Path, erdrill: Any) -> None:
    hist = tmp_path / "drills.jsonl"
    old = [
        json.dumps(_record(f"old{i}").model_dump(mode="json", by_alias=True), sort_keys=True)
        for i in (1, 2)
    ]
    hist.write_text("".join(line + "\n" for line in old))
    history.append(_record("new1"), hist)
    assert [r.run_id for r in history.read(hist)] == ["old1", "old2", "new1"]
    code, out, _ = erdrill("verify", hist)
    assert code == 0, out
    assert (
        out[0] == f"note: {hist}: lines 1-2 predate the hash chain (legacy prefix, not protected)"
    )
    assert out[-1] == f"ok: {hist}: 1 chained lines intact after 2 legacy lines"


def _append_many(path: str, worker: int) -> None:
    for i in range(25):
        history.append(_record(f"w{worker}-{i}", message="x" * 5000), Path(path))


def test_concurrent_appends_never_interleave_and_keep_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "drills.jsonl"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(path), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    records = history.read(path)
    assert len({r.run_id for r in records}) == len(records) == 100
    report = integrity.verify_history(path)
    assert report.ok, report.lines()
    assert report.summary.startswith("100 chained lines intact")


# --- signatures -------------------------------------------------------------------------------


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path, erdrill: Any) -> None:
    key = tmp_path / "keys" / "drill.key"
    code, out, _ = erdrill("keygen", key)
    assert code == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (tmp_path / "keys" / "drill.key.pub").read_text().startswith("-----BEGIN PUBLIC KEY")
    assert "PRIVATE KEY" not in "\n".join(out)
    fp = integrity.fingerprint(integrity.load_private_key(key))
    assert f"fingerprint: {fp}" in out and len(fp) == 16
    code, _, err = erdrill("keygen", key)
    assert code == 2 and "exists" in err and "--force" in err


def test_signed_evidence_verifies_with_its_key_and_fails_with_another(
    tmp_path: Path, erdrill: Any
) -> None:
    key, public, fp = integrity.generate_key(tmp_path / "k" / "drill.key")
    _, other, _ = integrity.generate_key(tmp_path / "k" / "other.key")
    run_dir = _drill(tmp_path)
    hist = tmp_path / "drills.jsonl"
    history.append(_record("r1"), hist)
    sealed = integrity.seal_drill(run_dir, history=hist, key=key, bundles_dir=tmp_path / "b")
    assert sealed.key_fingerprint == fp
    assert json.loads((run_dir / "manifest.json").read_text())["key_fingerprint"] == fp
    assert sealed.history_signature == tmp_path / "drills.jsonl.sig"

    code, out, _ = erdrill("verify", "--key", public, run_dir, hist, sealed.bundle)
    assert code == 0, out
    assert len(_lines_with(out, "ok:", f"signature good (key {fp})")) == 3

    code, out, _ = erdrill("verify", "--key", other, run_dir, hist)
    assert code == 1
    assert _lines_with(out, "bad-signature:", str(run_dir / "manifest.sig"), f"names key {fp}")
    assert _lines_with(out, "bad-signature:", str(hist) + ".sig")

    # without --key a signature is only mentioned
    code, out, _ = erdrill("verify", run_dir)
    assert code == 0 and _lines_with(out, "note:", "manifest.sig", fp)


def test_an_unsigned_folder_fails_when_a_key_is_asked_for(
    finished: DrillOnDisk, tmp_path: Path, erdrill: Any
) -> None:
    _, public, _ = integrity.generate_key(tmp_path / "drill.key")
    code, out, _ = erdrill("verify", "--key", public, finished.run_dir)
    assert code == 1
    assert out == [
        f"unsigned: {finished.run_dir / 'manifest.sig'}: missing, but --key asks for a signature"
    ]


def test_a_rewritten_manifest_fails_its_signature(tmp_path: Path, erdrill: Any) -> None:
    key, public, _ = integrity.generate_key(tmp_path / "drill.key")
    run_dir = _drill(tmp_path)
    integrity.seal_drill(run_dir, key=key)
    old_sig = (run_dir / "manifest.sig").read_bytes()
    (run_dir / "samples.csv").write_text("target\n")
    integrity.write_manifest(run_dir)  # a forger re-seals without the key ...
    code, out, _ = erdrill("verify", "--key", public, run_dir)
    assert code == 1 and _lines_with(out, "unsigned:", "manifest.sig")
    (run_dir / "manifest.sig").write_bytes(old_sig)  # ... or keeps the old signature
    code, out, _ = erdrill("verify", "--key", public, run_dir)
    assert code == 1
    assert out == [
        f"bad-signature: {run_dir / 'manifest.sig'}: does not verify with key "
        f"{integrity.fingerprint(integrity.load_public_key(public))} (it names key "
        f"{integrity.fingerprint(integrity.load_public_key(public))})"
    ]


def test_a_truncated_signed_history_is_caught(tmp_path: Path, erdrill: Any) -> None:
    key, public, _ = integrity.generate_key(tmp_path / "drill.key")
    hist = tmp_path / "drills.jsonl"
    for i in (1, 2, 3):
        history.append(_record(f"r{i}"), hist)
    integrity.sign_history_head(hist, integrity.load_private_key(key))
    lines = hist.read_bytes().splitlines(keepends=True)
    hist.write_bytes(b"".join(lines[:2]))  # the last drill removed: the chain alone is intact
    code, out, _ = erdrill("verify", hist)
    assert code == 1
    assert _lines_with(out, "deleted:", f"{hist}.sig", "signed head (line 3)")
    hist.write_bytes(b"".join(lines))
    history.append(_record("r4"), hist)  # appended after signing, without the key
    code, out, _ = erdrill("verify", "--key", public, hist)
    assert code == 1 and _lines_with(out, "unsigned:", "signs line 3; line 4 was appended unsigned")


def test_a_signing_key_others_can_read_is_refused_but_the_drill_is_still_sealed(
    tmp_path: Path,
) -> None:
    key, _, _ = integrity.generate_key(tmp_path / "drill.key")
    os.chmod(key, 0o644)
    run_dir = _drill(tmp_path)
    with pytest.raises(integrity.EvidenceError, match=r"readable by others .*chmod 600") as info:
        integrity.seal_drill(run_dir, key=key, bundles_dir=tmp_path / "b")
    assert "BEGIN" not in str(info.value)
    assert integrity.verify_drill_folder(run_dir).ok


# --- bundles ----------------------------------------------------------------------------------


def _rewrite_bundle(bundle: Path, change: dict[str, bytes]) -> None:
    with tarfile.open(bundle) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]
    buf = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w") as tar,
    ):
        for info, data in members:
            data = change.get(info.name.split("/", 1)[1], data)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    bundle.write_bytes(buf.getvalue())


def test_a_tampered_bundle_is_named(finished: DrillOnDisk, erdrill: Any) -> None:
    _rewrite_bundle(finished.bundle, {"samples.csv": b"target,protocol\n"})
    code, out, _ = erdrill("verify", finished.bundle)
    assert code == 1
    member = f"{finished.bundle}:{finished.run_dir.name}/samples.csv"
    assert out == [
        f"altered: {member}: SHA-256 differs from the manifest ({_size(finished)} -> 16 bytes)"
    ]


def _size(finished: DrillOnDisk) -> int:
    return (finished.run_dir / "samples.csv").stat().st_size


def test_verify_a_whole_drills_folder(finished: DrillOnDisk, erdrill: Any) -> None:
    second = _drill(finished.root, "20250101T000000Z-r2")
    integrity.seal_drill(second)
    code, out, _ = erdrill("verify", finished.run_dir.parent, finished.bundles)
    assert code == 0, out
    assert len(_lines_with(out, "ok:")) == 4  # two folders, two bundles


# --- usage errors -----------------------------------------------------------------------------


def test_a_missing_path_is_a_usage_error_in_one_line(tmp_path: Path, erdrill: Any) -> None:
    missing = tmp_path / "reports" / "drills" / "nope"
    code, out, err = erdrill("verify", missing)
    assert code == 2 and out == []
    assert err.count("\n") == 1 and str(missing) in err and "pass a drill folder" in err
    code, _, err = erdrill("verify")
    assert code == 2 and "name at least one" in err
    code, _, err = erdrill("verify", "--key", tmp_path / "no.pub", tmp_path)
    assert code == 2 and "no.pub" in err and err.count("\n") == 1


def test_the_installed_command_verifies(finished: DrillOnDisk, tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("erdrill")
    if not exe.exists():
        pytest.skip(f"{exe} not installed (run scripts/setup.sh)")
    env = {**os.environ, "ERDRILL_STATE_DIR": str(tmp_path / "state")}
    ok = subprocess.run(
        [exe, "verify", finished.run_dir, finished.history], capture_output=True, text=True, env=env
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (finished.run_dir / "drill.json").write_text("{}\n")
    bad = subprocess.run([exe, "verify", finished.run_dir], capture_output=True, text=True, env=env)
    assert bad.returncode == 1
    assert f"altered: {finished.run_dir / 'drill.json'}" in bad.stdout
    assert "Traceback" not in bad.stderr


# --- the drill's hook -------------------------------------------------------------------------


class _FinishedDrill:
    """The two things `erdrill.pytest_reports` uses of a Drill once its evidence is written."""

    def __init__(self, drills: Path, record: DrillRecord) -> None:
        self.record = record
        self.drills_dir = drills
        self.run_dir = drills / record.run_id

    def save(self) -> Path:
        return save(self.record, self.drills_dir)


def test_the_scenario_hook_seals_what_close_writes_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drill.close saves drill.json once more (phase "done") after the report: same bytes."""
    run_dir = _drill(tmp_path)
    drill = _FinishedDrill(
        run_dir.parent, DrillRecord.model_validate_json((run_dir / "drill.json").read_text())
    )
    drill.record.phase = "report"
    monkeypatch.setattr(session, "HISTORY_PATH", tmp_path / "history" / "drills.jsonl")
    monkeypatch.delenv(integrity.SIGNING_KEY_ENV, raising=False)
    history.append(drill.record, session.HISTORY_PATH)
    session._seal(drill, drill.record)
    drill.record.phase = "done"  # what Drill.enter("done") does after the report
    drill.save()
    assert integrity.verify_drill_folder(run_dir).ok
    assert (tmp_path / "reports" / "bundles" / f"{drill.record.run_id}.tar.gz").exists()
