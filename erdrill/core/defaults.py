"""Defaults every layer agrees on: defined here once, imported wherever they are needed."""

from __future__ import annotations

__all__ = [
    "ABORT_LIMIT_S",
    "AZURE_SUSTAIN_S",
    "FAILBACK_LIMIT_S",
    "FAILOVER_LIMIT_S",
    "LAB_SESSIONS",
    "LAB_SESSION_TIMEOUT_S",
    "LAB_SUSTAIN_S",
    "LAB_UNDO_TIMEOUT_S",
    "LATE_MS",
    "PROBE_RATE",
    "RESTORE_TIMEOUT_S",
    "SESSION_INTERVAL_MS",
    "SESSION_TIMEOUT_S",
    "UNDO_TIMEOUT_S",
]

PROBE_RATE = 200  # probes/s per target and protocol
LATE_MS = 500.0  # below the ~1 s SYN-ACK retransmission that would hide loss
ABORT_LIMIT_S = 180.0  # never leave a fault in place longer than this
UNDO_TIMEOUT_S = 600.0  # an undo still running after this is left to the second path
LAB_UNDO_TIMEOUT_S = 30.0  # a lab undo takes milliseconds; ARM writes take minutes
RESTORE_TIMEOUT_S = 60.0  # ExpressRoute must carry traffic again this long after the undo
FAILOVER_LIMIT_S = 15.0
FAILBACK_LIMIT_S = 60.0
LAB_SUSTAIN_S = 2.0  # the lab converges in seconds
AZURE_SUSTAIN_S = 10.0  # Azure's control plane is read every few seconds
LAB_SESSIONS = 2  # long-lived TCP sessions per workload in a lab drill (Azure: none unless set)
SESSION_INTERVAL_MS = 50.0  # each session sends one small message this often
LAB_SESSION_TIMEOUT_S = 3.0  # a session's data unacknowledged this long breaks it (lab)
SESSION_TIMEOUT_S = 30.0  # the same against Azure, whose failovers take longer
