"""strongSwan (charon + swanctl) configuration for each tunnel end, ESP in user space.

kernel-libipsec gives each charon one TUN device and picks the SA by policy, not by
route, so every tunnel end runs its own charon (own ports, own TUN device `ipsecN`, own
vici socket): a device with two tunnels has two, and BGP alone chooses the tunnel.
"""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

from erdrill.lab.plan import Tunnel

__all__ = [
    "LIBIPSEC_TABLE",
    "PLUGINS",
    "end_dir",
    "sa_established",
    "strongswan_conf",
    "swanctl",
    "swanctl_conf",
]

# kernel-libipsec puts a default route via its TUN device into this table; the lab deletes
# the rule that points at it (lab-facts pitfall 1) so only BGP decides what enters the tunnel.
LIBIPSEC_TABLE = 199
PLUGINS = (
    "random nonce aes sha1 sha2 hmac kdf gmp pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink "
    "socket-default vici"
)


def end_dir(node_dir: Path, end: int) -> Path:
    """Where one tunnel end's charon keeps its files: the node's folder for the first."""
    return node_dir if end == 0 else node_dir / f"ipsec{end}"


def strongswan_conf(node_dir: Path, ports: tuple[int, int] = (500, 4500)) -> str:
    return f"""charon {{
    port = {ports[0]}
    port_nat_t = {ports[1]}
    load_modular = no
    load = {PLUGINS}
    install_routes = no
    install_virtual_ip = no
    routing_table = {LIBIPSEC_TABLE}
    routing_table_prio = {LIBIPSEC_TABLE}
    retransmit_timeout = 1.0
    retransmit_base = 1.4
    retransmit_tries = 2
    filelog {{
        lab {{
            path = {node_dir / "charon.log"}
            time_format = %F %T
            ike_name = yes
            default = 1
            flush_line = yes
        }}
    }}
    syslog {{
        daemon {{
            default = -1
        }}
    }}
    plugins {{
        vici {{
            socket = unix://{node_dir / "charon.vici"}
        }}
    }}
}}
"""


def swanctl_conf(tun: Tunnel, side: str, psk: str) -> str:
    """swanctl.conf for one tunnel end: the on-prem device (initiator) or the instance."""
    device = side == "device"
    local_if, remote_if = (
        (tun.device_outer, tun.instance_outer) if device else (tun.instance_outer, tun.device_outer)
    )
    local = str(ipaddress.IPv4Interface(local_if).ip)
    remote = str(ipaddress.IPv4Interface(remote_if).ip)
    start = "start" if device else "none"
    # only the initiator names the port it sends to; the responder answers where asked from
    port = f"\n        remote_port = {tun.ports()[0]}" if device else ""
    name = tun.name
    return f"""connections {{
    {name} {{
        version = 2
        local_addrs = {local}
        remote_addrs = {remote}{port}
        proposals = aes256-sha256-modp2048
        encap = yes
        dpd_delay = 2s
        rekey_time = 1h
        local {{
            auth = psk
            id = {local}
        }}
        remote {{
            auth = psk
            id = {remote}
        }}
        children {{
            {name} {{
                local_ts = 0.0.0.0/0
                remote_ts = 0.0.0.0/0
                esp_proposals = aes256-sha256
                start_action = {start}
                dpd_action = restart
                close_action = {start}
            }}
        }}
    }}
}}
secrets {{
    ike-{name} {{
        id-local = {local}
        id-remote = {remote}
        secret = "{psk}"
    }}
}}
"""


def swanctl(node_dir: Path, *args: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
    """Run swanctl against one charon instance's vici socket."""
    return subprocess.run(
        ["swanctl", *args, "--uri", f"unix://{node_dir / 'charon.vici'}"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def sa_established(node_dir: Path) -> bool:
    """Whether the IKE SA and its CHILD_SA are up, read from `swanctl --list-sas`."""
    out = swanctl(node_dir, "--list-sas", "--raw", timeout=5).stdout
    return "state=ESTABLISHED" in out and "state=INSTALLED" in out
