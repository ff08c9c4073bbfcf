"""The lab's Azure face wired to the Azure target: connections, sessions, journal repair.

Credentials: real Azure uses azure-identity's DefaultAzureCredential (az login, managed
identity, AZURE_* variables); erdrill stores nothing. When `arm_endpoint = "lab"` the
target talks to the lab's Azure face (armface) with its per-lab CA and static token
(armface.LabFaceCredential, which refuses any non-loopback endpoint). This is the one
module of targets.azure that knows armface.

With `arm_endpoint = "lab"` a session builds the lab from --lab-topology, serves the
lab's Azure face in this process (127.0.0.1 only) and drives it through azure-mgmt-network
exactly as it would drive Azure; teardown stops the face, keeping its request log beside
face.json, and takes the lab down.

Journal repair (`undo_azure_entry`): a fault a dead drill left in place is undone through
the SDK with allow_disruption; without it an OpenFault names exactly what is left.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from erdrill.armface.credential import LabFaceCredential, is_loopback_endpoint
from erdrill.armface.lab_backend import LabBackend
from erdrill.armface.server import Server, discover, serve
from erdrill.core.config import AzureConfig, DrillConfig, load_drill_config
from erdrill.core.errors import TargetError
from erdrill.core.fault_methods import METHODS
from erdrill.core.journal import OpenFault
from erdrill.core.settings import DrillOptions
from erdrill.lab.lab import Lab
from erdrill.lab.topology import load_topology
from erdrill.targets.azure.arm import Connection
from erdrill.targets.azure.cloud import endpoint_of
from erdrill.targets.azure.target import AzureTarget

__all__ = [
    "REQUEST_LOG",
    "LabFace",
    "arm_connection",
    "journaled_config",
    "make_azure_target",
    "served_lab",
    "undo_azure_entry",
]

REQUEST_LOG = "requests.jsonl"  # the face's request log, written beside face.json on teardown


def arm_connection(
    cfg: AzureConfig, lab_run_dir: Path | None = None, credential: Any = None
) -> Connection:
    """Where the target's ARM is: the running lab face (`arm_endpoint = "lab"`) or Azure."""
    if cfg.is_lab_face:
        if lab_run_dir is None:
            raise TargetError(
                "azure target: arm_endpoint = 'lab' needs the running lab's run folder"
            )
        face = discover(lab_run_dir)
        cred = credential or LabFaceCredential(face.token(), face.endpoint)
        return Connection(face.endpoint, str(face.ca_bundle), cred)
    ca = cfg.ca_bundle
    if ca is not None and not Path(ca).is_file():
        raise TargetError(f"azure target: ca_bundle {ca!r} is not a file; fix [azure] ca_bundle")
    if credential is None and is_loopback_endpoint(cfg.arm_endpoint):
        raise TargetError(
            "azure target: a loopback arm_endpoint needs the lab face: set arm_endpoint = 'lab'"
        )
    return Connection(endpoint_of(cfg), ca, credential)


class LabFace:
    """The face a session serves for its lab; stopping it keeps its request log."""

    def __init__(self, server: Server, lab: Lab) -> None:
        self.server = server
        self.lab = lab

    @property
    def token(self) -> str:
        return self.server.token

    def write_request_log(self) -> Path:
        """Keep the face's request log (method, path, operation, status, ...) beside face.json
        (the access log, access.jsonl, is written as requests come)."""
        path = self.lab.run_dir / "armface" / REQUEST_LOG
        lines = [json.dumps(r.to_dict()) for r in self.server.requests]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.write_request_log()
        self.server.close()


@contextlib.contextmanager
def served_lab(topology: Path) -> Iterator[Path]:
    """The lab of `topology` up (reused when it is) and its face served: its run folder.

    The lab stays up afterwards (`erdrill discover --lab-topology`, then the drill)."""
    lab = Lab(load_topology(topology))
    lab.up()
    with serve(LabBackend(lab), lab.run_dir):
        yield lab.run_dir


def _config(path: Path | None) -> DrillConfig:
    cfg = load_drill_config(path)
    if cfg.azure is None:
        raise TargetError(
            f"azure target: {path or 'the default config'} has no [azure] section "
            "(see examples/azure.toml or examples/lab-as-azure.toml)"
        )
    return cfg


def make_azure_target(
    options: DrillOptions, drill_config: Path | None, topology: Path | None
) -> AzureTarget:
    """The Azure target for a session; for `arm_endpoint = "lab"`, the lab and its face too."""
    cfg = _config(drill_config)
    assert cfg.azure is not None
    consent = options.allow_disruption
    if not cfg.azure.is_lab_face:
        conn = arm_connection(cfg.azure)
        return AzureTarget(
            cfg, conn, config_path=drill_config, allow_disruption=consent, plan=options.plan
        )
    lab = Lab(load_topology(topology))
    server: Server | None = None
    try:
        lab.up()
        server = serve(LabBackend(lab), lab.run_dir, profile=cfg.azure.face)
        conn = arm_connection(cfg.azure, lab.run_dir)
        return AzureTarget(
            cfg,
            conn,
            config_path=drill_config,
            lab=lab,
            face=LabFace(server, lab),
            allow_disruption=consent,
            plan=options.plan,
        )
    except BaseException:
        if server is not None:
            server.close()
        with contextlib.suppress(Exception):
            lab.down()
        raise


def _left_in_place(entry: dict[str, Any]) -> str:
    u = entry.get("undo", {})
    where = (
        f"peering {u.get('peering')} of circuit {u.get('circuit')} (resource group "
        f"{u.get('resource_group')}, subscription {u.get('subscription_id')}"
        + (f", lab {u.get('prefix')}" if u.get("prefix") else "")
        + ")"
    )
    spec = METHODS.get(str(entry.get("fault")))
    fields = {k: str(v) for k, v in u.items()} | {"where": where}
    what = (
        spec.left_in_place.format_map(defaultdict(lambda: "?", fields))
        if spec is not None
        else f"fault {entry.get('fault')} on {where}"
    )
    return f"{what} since drill {entry.get('run_id')}"


JOURNALED_IDS = ("subscription_id", "resource_group", "circuit", "peering", "er_gateway")


def journaled_config(cfg: DrillConfig, undo: dict[str, Any]) -> DrillConfig:
    """The config with the resources the fault was journaled against: the journal wins.

    The config file may have been edited since (another circuit): the undo must act on the
    circuit that was faulted, never on the one the file names now.
    """
    assert cfg.azure is not None
    ids = {k: str(undo[k]) for k in JOURNALED_IDS if undo.get(k)}
    return cfg.model_copy(update={"azure": cfg.azure.model_copy(update=ids)})


def undo_azure_entry(entry: dict[str, Any], allow_disruption: bool) -> None:
    """Undo an Azure fault a dead drill left in place, or raise OpenFault naming it."""
    u = entry.get("undo", {})
    name = str(entry.get("fault"))
    lab: Lab | None = None
    if u.get("arm_endpoint") == "lab":
        prefix, run_root = str(u.get("prefix")), Path(str(u.get("run_root")))
        lab = Lab.current(prefix, run_root)
        if lab.topology.prefix != prefix:  # no saved topology: never fall back to another lab
            lab = Lab(lab.topology.model_copy(update={"prefix": prefix}), run_root)
        if not lab.is_up():
            return  # a lab that is down keeps no fault
    if not allow_disruption:
        raise OpenFault(
            f"{_left_in_place(entry)}; undo it with --allow-disruption (erdrill re-enables it "
            "through the SDK) or by hand"
        )
    config_path = Path(str(u.get("config"))) if u.get("config") else None
    cfg = journaled_config(_config(config_path), u)
    assert cfg.azure is not None
    server: Server | None = None
    try:
        if lab is not None:
            server = serve(LabBackend(lab), lab.run_dir, profile=cfg.azure.face)
        conn = arm_connection(cfg.azure, lab.run_dir if lab else None)
        fault = AzureTarget(cfg, conn, allow_disruption=True).fault(name)
        fault.adopt(u)  # the pre-fault body the dead drill journaled
        fault.restore()
    except TargetError as exc:
        raise OpenFault(f"{_left_in_place(entry)}; undo failed: {exc}") from None
    finally:
        if server is not None:
            server.close()
