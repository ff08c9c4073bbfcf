"""Helpers of the fleet tests: a Temporal dev server, inventories of lab circuits,
`erdrill fleet` workers and runs as subprocesses, and what their results say."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from erdrill.lab.lab import Lab

BIN = Path(sys.executable).parent
ERDRILL = str(BIN / "erdrill")
DRILL_TOML = "[drill]\nprobe_rate = 50\nsustain_s = 1\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def dev_server() -> Iterator[str]:
    """`temporal server start-dev` on loopback (in memory); yields HOST:PORT."""
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
         "--port", str(port), "--ui-port", str(free_port())],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert proc.poll() is None and time.monotonic() < deadline, "dev server did not start"
            time.sleep(0.1)
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def circuit(name: str, site: str, prefix: str, **resources: Any) -> dict[str, Any]:
    return {"name": name, "site": site, "prefix": prefix, "resources": resources}


def write_inventory(
    folder: Path, circuits: list[dict[str, Any]], concurrency: int = 2, name: str = "fleet"
) -> Path:
    """An inventory of lab circuits, each its own reference lab under its prefix."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "drill.toml").write_text(DRILL_TOML)
    out = []
    for c in circuits:
        topo = folder / f"{c['prefix']}.yaml"
        topo.write_text(f"extends: default\nprefix: {c['prefix']}\n")
        out.append(
            {"name": c["name"], "site": c["site"], "config": "drill.toml",
             "topology": topo.name, "resources": c["resources"]}
        )  # fmt: skip
    sites = sorted({c["site"] for c in circuits})
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"sites": sites, "concurrency": concurrency, "circuits": out}))
    return path


def start_worker(
    address: str,
    sites: list[str],
    state: Path,
    log: Path,
    erdrill: str = ERDRILL,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """`erdrill fleet worker` in its own process group (a host: its drills die with it)."""
    state.mkdir(parents=True, exist_ok=True)
    argv = [erdrill, "fleet", "worker", "--temporal", address]
    for s in sites:
        argv += ["--site", s]
    return subprocess.Popen(
        argv, env={**(env or os.environ), "ERDRILL_STATE_DIR": str(state)}, cwd=cwd,
        stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def fleet_run(address: str, inventory: Path, reports: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [ERDRILL, "fleet", "run", str(inventory), "--temporal", address,
         "--reports", str(reports), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def campaign(reports: Path, out: str) -> dict[str, Any]:
    """The campaign result the run wrote (its path is the run's last line)."""
    path = out.strip().splitlines()[-1].rsplit(" in ", 1)[-1]
    return dict(json.loads(Path(path).read_text()))


def by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in result["circuits"]}


def span(c: dict[str, Any]) -> tuple[datetime, datetime]:
    """From the first drill record's start to the last one's end."""
    recs = c["records"]
    assert recs, c
    return (
        min(datetime.fromisoformat(r["started_at"]) for r in recs),
        max(datetime.fromisoformat(r["finished_at"]) for r in recs),
    )


def overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    (s1, e1), (s2, e2) = span(a), span(b)
    return s1 < e2 and s2 < e1


def labs_down(prefixes: list[str], run_root: Path) -> None:
    for p in prefixes:
        with contextlib.suppress(Exception):
            Lab.current(p, run_root).down()
