"""Fleet figures on this machine, against a local Temporal dev server and real labs:

    .venv/bin/python benchmarks/fleet.py [CIRCUITS] [--skip-campaigns] [--skip-kill]

- a campaign of CIRCUITS (8) lab circuits sharing nothing, at concurrency 1 and 4: wall
  time, the ratio of the two and to the sum of the single drills (goal at 4: < 0.5);
- Temporal's overhead per drill: the drill activity's queue-to-start (median, max);
- a drill host killed with SIGKILL after its fault is in: seconds until ExpressRoute
  carries traffic again (the undo's confirmation; goal < 30 s with a 10 s heartbeat).
As root. Labs use the prefixes erd-flt-b0.. and erd-flt-k*; state under /var/tmp.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

import fleetkit as fk
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

BIN = Path(sys.executable).parent


def seconds(c: dict[str, object]) -> float:
    """A circuit's whole drill in the campaign: lab build, pytest, drill, teardown."""
    start = datetime.fromisoformat(str(c["started_at"]))
    return (datetime.fromisoformat(str(c["finished_at"])) - start).total_seconds()


async def queue_to_start(address: str, campaign_id: str) -> list[float]:
    """Per drill: ActivityTaskScheduled to ActivityTaskStarted of drill_circuit."""
    client = await Client.connect(address)
    out = []
    async for wf in client.list_workflows(f"WorkflowId STARTS_WITH '{campaign_id}.'"):
        history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        scheduled = {}
        for e in history.events:
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attrs = e.activity_task_scheduled_event_attributes
                if attrs.activity_type.name == "drill_circuit":
                    scheduled[e.event_id] = e.event_time.ToDatetime()
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                sid = e.activity_task_started_event_attributes.scheduled_event_id
                if sid in scheduled:
                    out.append((e.event_time.ToDatetime() - scheduled[sid]).total_seconds())
    return out


def campaigns(address: str, root: Path, n: int) -> None:
    prefixes = [f"erd-flt-b{i}" for i in range(n)]
    inv = fk.write_inventory(
        root / "inv", [fk.circuit(f"c{i}", "bench", p) for i, p in enumerate(prefixes)]
    )
    worker = fk.start_worker(address, ["bench"], root / "state", root / "worker.log")
    walls: dict[int, float] = {}
    try:
        for conc in (1, 4):
            t0 = time.monotonic()
            run = fk.fleet_run(address, inv, root / f"reports-{conc}", "--concurrency", str(conc))
            out, _ = run.communicate(timeout=3600)
            walls[conc] = time.monotonic() - t0
            result = fk.campaign(root, out)
            verdicts = [c["verdict"] for c in result["circuits"]]
            singles = sum(seconds(c) for c in fk.by_name(result).values())
            if conc == 1:
                serial_sum = singles
            q = asyncio.run(queue_to_start(address, result["campaign_id"]))
            print(
                f"campaign of {n} circuits at concurrency {conc}: wall {walls[conc]:.1f} s, "
                f"sum of the circuits' drills {singles:.1f} s, exit {run.returncode}, "
                f"verdicts {sorted(set(verdicts))}; queue to start median "
                f"{statistics.median(q) * 1000:.0f} ms, max {max(q) * 1000:.0f} ms",
                flush=True,
            )
        print(
            f"concurrency 4 / concurrency 1 wall: {walls[4] / walls[1]:.2f}; concurrency 4 "
            f"wall / sum of the circuits' drills at concurrency 1: {walls[4] / serial_sum:.2f} "
            "(goal < 0.5)"
        )
    finally:
        fk.stop_worker(worker)
        fk.labs_down(prefixes, Path(os.environ["ERDRILL_LAB_ROOT"]))


def kill(address: str, root: Path) -> None:
    inv = fk.write_inventory(root / "kinv", [fk.circuit("doomed", "lost", "erd-flt-k1")])
    doomed = fk.start_worker(address, ["lost"], root / "state-a", root / "worker-a.log")
    other = fk.start_worker(address, ["spare"], root / "state-b", root / "worker-b.log")
    try:
        run = fk.fleet_run(address, inv, root / "reports-k")
        while not list((root / "state-a").glob("journal-*.json")):
            time.sleep(0.05)
        time.sleep(0.5)
        killed = time.time()
        os.killpg(doomed.pid, signal.SIGKILL)
        out, _ = run.communicate(timeout=600)
        (c,) = fk.by_name(fk.campaign(root, out)).values()
        undo = c["undo"]
        print(
            f"SIGKILL of the drill host to ExpressRoute carrying traffic again: "
            f"{undo['at'] - killed:.1f} s (heartbeat timeout 10 s; verdict {c['verdict']}, "
            f"host lost {c['host_lost']}, fault undone {c['fault_undone']}, "
            f"ExpressRoute {undo['expressroute']})"
        )
    finally:
        fk.stop_worker(doomed)
        fk.stop_worker(other)
        fk.labs_down(["erd-flt-k1"], Path(os.environ["ERDRILL_LAB_ROOT"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("circuits", type=int, nargs="?", default=8)
    ap.add_argument("--skip-campaigns", action="store_true")
    ap.add_argument("--skip-kill", action="store_true")
    args = ap.parse_args()
    base = Path("/var/tmp/erdrill-bench-fleet")
    base.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(dir=base))
    os.environ.setdefault("ERDRILL_LAB_ROOT", str(root / "labs"))
    os.environ["PATH"] = f"{BIN}:{os.environ['PATH']}"
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"fleet benchmark in {root} (load {load})", flush=True)
    with fk.dev_server() as address:
        if not args.skip_campaigns:
            campaigns(address, root, args.circuits)
        if not args.skip_kill:
            kill(address, root)
    print(json.dumps({"done": True}))


if __name__ == "__main__":
    main()
