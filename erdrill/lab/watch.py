"""Route watcher: runs inside one lab namespace and logs every route change from netlink.

Started by the lab as `python -m lab.watch NODE EVENTS --oif er0=expressroute/primary ...`
inside the node's namespace; each RTM_NEWROUTE / RTM_DELROUTE installed by BIRD becomes
one `route` event with the path it points to (and the link or VPN instance, `link`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute

from erdrill.lab import events

__all__ = ["RTPROT_BIRD", "classify", "main"]

RTPROT_BIRD = 12


def _pairs(values: list[str]) -> dict[str, str]:
    return dict(v.split("=", 1) for v in values)


def classify(msg: Any, names: dict[int, str], by_oif: dict[str, str], by_gw: dict[str, str]) -> str:
    gw = msg.get("RTA_GATEWAY")
    if gw and gw in by_gw:
        return by_gw[gw]
    oif = names.get(msg.get("RTA_OIF") or -1, "")
    return by_oif.get(oif, "unknown")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lab.watch")
    ap.add_argument("node")
    ap.add_argument("events", type=Path)
    ap.add_argument("--oif", action="append", default=[], help="IFNAME=PATH")
    ap.add_argument("--gw", action="append", default=[], help="ADDRESS=PATH")
    ap.add_argument("--ready", type=Path, help="file to touch once listening")
    args = ap.parse_args(argv)
    by_oif, by_gw = _pairs(args.oif), _pairs(args.gw)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Ground truth is only as good as how soon we read the change: ask for real-time
    # scheduling so busy probes on a small machine do not delay the timestamps.
    with contextlib.suppress(OSError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(20))

    with IPRoute() as ipr:
        ipr.bind()
        names = {link["index"]: link.get("IFLA_IFNAME") for link in ipr.get_links()}
        if args.ready:
            args.ready.touch()
        while True:
            for msg in ipr.get():
                event = msg.get("event")
                if event in ("RTM_NEWLINK", "RTM_DELLINK"):
                    names[msg["index"]] = msg.get("IFLA_IFNAME")
                    continue
                if event not in ("RTM_NEWROUTE", "RTM_DELROUTE") or msg.get("proto") != RTPROT_BIRD:
                    continue
                if msg.get("family") != 2 or msg.get("table") != 254:
                    continue
                path, _, detail = classify(msg, names, by_oif, by_gw).partition("/")
                events.append(
                    args.events,
                    "route",
                    node=args.node,
                    action="add" if event == "RTM_NEWROUTE" else "del",
                    prefix=f"{msg.get('RTA_DST')}/{msg['dst_len']}",
                    gateway=msg.get("RTA_GATEWAY"),
                    dev=names.get(msg.get("RTA_OIF") or -1),
                    path=path,
                    **({"link": detail} if detail else {}),
                )


if __name__ == "__main__":
    sys.exit(main())
