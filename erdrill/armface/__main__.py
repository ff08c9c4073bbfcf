"""`python -m armface --run-dir DIR`: serve the running lab's Azure face until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from erdrill.core.errors import ErdrillError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m armface", description=__doc__)
    parser.add_argument("--run-dir", type=Path, help="the lab's run folder (default: current lab)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    parser.add_argument(
        "--in-memory", action="store_true", help="serve the in-memory backend instead of the lab"
    )
    parser.add_argument(
        "--drill-config", type=Path, help="behave as its [azure.face] says (default: at once)"
    )
    args = parser.parse_args(argv)
    try:
        from erdrill.core.config import load_drill_config

        azure = load_drill_config(args.drill_config).azure if args.drill_config else None
        from erdrill.armface.backend import Backend
        from erdrill.armface.memory import InMemoryBackend
        from erdrill.armface.server import serve

        backend: Backend
        if args.in_memory:
            backend = InMemoryBackend()
            run_dir = args.run_dir or Path.cwd()
        else:
            from erdrill.armface.lab_backend import LabBackend
            from erdrill.lab.lab import Lab

            if args.run_dir is None:
                lab = Lab.current()
            else:
                lab = Lab.current(prefix=args.run_dir.name, run_root=args.run_dir.parent)
            backend = LabBackend(lab)
            run_dir = lab.run_dir if args.run_dir is None else args.run_dir
        server = serve(backend, run_dir, port=args.port, profile=azure.face if azure else None)
    except ErdrillError as exc:
        print(f"armface: error: {exc}", file=sys.stderr)
        return exc.exit_code
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"armface: serving {server.endpoint} (CA {server.ca_bundle})", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
