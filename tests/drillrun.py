"""Run `pytest features/` in a subprocess against a test's own lab, and inspect what it left.

Used by the interruption, crash-repair and lock tests. Each test module gets its own lab
prefix, state folder (ERDRILL_STATE_DIR), lab run folder (ERDRILL_LAB_ROOT) and drills
folder, so it never touches a user's lab or another module's.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from erdrill.core import journal
from erdrill.lab.lab import Lab
from erdrill.lab.topology import load_topology

REPO = Path(__file__).resolve().parents[1]
PYTEST = str(Path(sys.executable).parent / "pytest")
ERDRILL = str(Path(sys.executable).parent / "erdrill")
DOCUMENTED_PLAN = "documented"  # -k selection of the documented test plan scenario
STEADY_STATE = "both_directions_use_expressroute"  # the steady-state scenario, no fault


def session_prefix(base: str) -> str:
    """`<base>-<pid>`: two test sessions on one machine never share a lab."""
    return f"{base}-{os.getpid() % 100000}"


@dataclass
class Workspace:
    """One module's lab and folders."""

    root: Path
    prefix: str

    @property
    def topology(self) -> Path:
        path = self.root / "topology.yaml"
        if not path.exists():
            path.write_text(f"extends: default\nprefix: {self.prefix}\n")
        return path

    @property
    def drill_config(self) -> Path:
        """Light probing and a short sustain: the tests judge safety, not figures."""
        path = self.root / "drill.toml"
        if not path.exists():
            path.write_text("[drill]\nprobe_rate = 100\nsustain_s = 0.5\n")
        return path

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def lab_root(self) -> Path:
        return self.root / "labs"

    @property
    def lab(self) -> Lab:
        return Lab(load_topology(self.topology), run_root=self.lab_root, state_dir=self.state_dir)

    @property
    def key(self) -> str:
        return f"lab-{self.prefix}"

    def env(self, pause_at: str | None = None, drills: Path | None = None) -> dict[str, str]:
        env = {
            **os.environ,
            "ERDRILL_STATE_DIR": str(self.state_dir),
            "ERDRILL_LAB_ROOT": str(self.lab_root),
            "ERDRILL_LAB_PREFIX": self.prefix,
        }
        env.pop("ERDRILL_PAUSE_AT_PHASE", None)
        # tests/pausehook.py and tests/drilldiag.py are loaded into drill runs (-p)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO / "tests"), os.environ.get("PYTHONPATH")) if p
        )
        if drills is not None:  # where SIGUSR1 writes the drill's stacks (tests/drilldiag.py)
            env["ERDRILL_DIAG_STACKS"] = str(drills / "pystacks.txt")
        if pause_at:
            env["ERDRILL_PAUSE_AT_PHASE"] = pause_at
        return env

    def start(
        self, select: str, drills: Path, *, pause_at: str | None = None, keep_lab: bool = True
    ) -> subprocess.Popen[str]:
        """`pytest features/ -k <select>` against this lab, output into <drills>/out.txt."""
        drills.mkdir(parents=True, exist_ok=True)
        argv = [
            PYTEST,
            str(REPO / "features"),
            "-p",
            "no:cacheprovider",
            "-p",
            "pausehook",
            "-p",
            "drilldiag",
            "-k",
            select,
            "--lab-topology",
            str(self.topology),
            "--drills-dir",
            str(drills),
            "--drill-config",
            str(self.drill_config),
        ]
        if keep_lab:
            argv.append("--keep-lab")
        out = (drills / "out.txt").open("w")
        return subprocess.Popen(
            argv,
            cwd=REPO,
            env=self.env(pause_at, drills),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, as under a scheduler
        )

    def erdrill(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ERDRILL, *args],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def open_faults(self) -> list[dict[str, Any]]:
        return journal.open_entries(self.key, self.state_dir)

    def leftovers(self) -> list[str]:
        """Namespaces of this lab and processes that mention its run folder."""
        lab = self.lab
        found = [f"namespace {ns}" for ns in lab.existing_namespaces()]
        marker = str(lab.run_dir).encode()
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            for part in ("cmdline", "environ"):
                try:
                    data = Path(f"/proc/{entry.name}/{part}").read_bytes()
                except OSError:
                    continue
                if marker in data:
                    found.append(f"process {entry.name}: {data[:120]!r}")
                    break
        return found


def output(drills: Path) -> str:
    return (drills / "out.txt").read_text(errors="replace")


def records(drills: Path) -> list[dict[str, Any]]:
    """Every drill record under `drills`, parsed as JSON (a bad one fails the test)."""
    return [json.loads(p.read_text()) for p in sorted(drills.glob("*/drill.json"))]


def wait_paused(
    proc: subprocess.Popen[str], drills: Path, phase: str, timeout: float = 120
) -> Path:
    """Wait until the drill sleeps in `phase` (the ERDRILL_PAUSE_AT_PHASE hook); its record."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for marker in drills.glob("*/paused"):
            record = marker.parent / "drill.json"
            if record.exists() and json.loads(record.read_text()).get("phase") == phase:
                return record
        if proc.poll() is not None:
            raise AssertionError(
                f"the drill ended (exit {proc.returncode}) before pausing in {phase}:\n"
                + output(drills)[-3000:]
            )
        time.sleep(0.1)
    stacks = kill_hung(proc, drills)
    raise AssertionError(
        f"the drill never paused in {phase} (stacks: {stacks}):\n" + output(drills)[-6000:]
    )


def finish(proc: subprocess.Popen[str], drills: Path, timeout: float = 120) -> int:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stacks = kill_hung(proc, drills)
        raise AssertionError(
            f"the drill did not end in {timeout:g} s (stacks: {stacks}):\n" + output(drills)[-6000:]
        ) from None


def _group(pgid: int) -> list[int]:
    """Processes of process group `pgid` (the drill's: it runs in its own session)."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:  # after "pid (comm)": state ppid pgrp ...
            pids.append(int(entry.name))
    return sorted(pids)


def kill_hung(proc: subprocess.Popen[str], drills: Path) -> Path:
    """Write where every process and thread of a hung drill is, then kill its group.

    `<drills>/stacks.txt` gets each process's state, command line and every thread's kernel
    stack; SIGUSR1 (tests/drilldiag.py), sent twice to each Python process in turn, then adds
    every thread's Python stack (<drills>/pystacks.txt, copied into stacks.txt).
    """
    path = drills / "stacks.txt"
    pids = _group(proc.pid)
    lines = [f"process group {proc.pid}: {pids}"]
    for pid in pids:
        base = Path(f"/proc/{pid}")
        try:
            cmd = (base / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            status = dict(
                line.split(":\t", 1)
                for line in (base / "status").read_text().splitlines()
                if ":\t" in line
            )
            lines.append(
                f"\n== pid {pid} ppid {status.get('PPid')} state {status.get('State')}: {cmd}"
            )
            for task in sorted(os.listdir(base / "task"), key=int):
                t = base / "task" / task
                wchan = (t / "wchan").read_text() if (t / "wchan").exists() else "?"
                comm = (t / "comm").read_text().strip()
                try:
                    kstack = (t / "stack").read_text().strip()
                except OSError:
                    kstack = "(kernel stack unreadable)"
                lines.append(f"-- thread {task} ({comm}) wchan {wchan}\n{kstack}")
        except OSError as exc:
            lines.append(f"\n== pid {pid}: gone ({exc})")
    pystacks = drills / "pystacks.txt"
    for round_ in (1, 2):  # twice: what moves and what is stuck
        for pid in pids:  # Python processes only: SIGUSR1 would kill an `ip`, `nft` or `birdc`
            with contextlib.suppress(OSError):
                if "python" in os.readlink(f"/proc/{pid}/exe"):
                    with pystacks.open("a") as f:  # the processes share one file: say whose
                        f.write(f"\n== pid {pid}, dump {round_}\n")
                    os.kill(pid, signal.SIGUSR1)
                    time.sleep(0.3)
    lines.append(f"\n== Python stacks (faulthandler on SIGUSR1, twice), from {pystacks}\n")
    lines.append(pystacks.read_text(errors="replace") if pystacks.exists() else "(none)")
    path.write_text("\n".join(lines) + "\n")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return path
