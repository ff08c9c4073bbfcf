"""Topology validation: every bad input is one line naming the problem, before anything exists."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from erdrill.core.errors import ConfigError, EnvironmentProblem
from erdrill.lab import preflight as lab_preflight
from erdrill.lab import topology
from erdrill.lab.preflight import preflight
from erdrill.lab.topology import load_topology, parse_topology

ERDRILL = str(Path(__file__).parents[1] / ".venv" / "bin" / "erdrill")
DEFAULT = yaml.safe_load(topology.DEFAULT_TOPOLOGY.read_text())


def variant(**changes: object) -> dict[str, object]:
    """The default topology with dotted-path fields replaced."""
    data: dict[str, object] = yaml.safe_load(topology.DEFAULT_TOPOLOGY.read_text())
    for dotted, value in changes.items():
        node = data
        *parents, leaf = dotted.split("__")
        for p in parents:
            node = node[p]  # type: ignore[assignment,index]
        node[leaf] = value  # type: ignore[index]
    return data


def test_default_topology_is_the_reference_architecture() -> None:
    t = load_topology()
    assert t.expressroute.asn == 12076 and t.azure.asn == 65515
    assert [n.removeprefix("erd-lab-") for n in t.namespaces] == [
        "onprem-host",
        "onprem-edge",
        "provider",
        "msee",
        "er-gateway",
        "vpn-gateway",
        "vnet",
        "workload",
    ]
    assert t.effective_timers.hold_s == 3


def test_azure_profile_uses_microsoft_defaults() -> None:
    t = parse_topology(variant(profile="azure"))
    timers = t.effective_timers
    assert (timers.keepalive_s, timers.hold_s) == (60, 180)
    assert (timers.bfd_interval_ms, timers.bfd_multiplier) == (300, 3)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"onprem__lan": "10.1.0.0/24"}, "azure.vnet", "overlaps"),
        ({"colour": "blue"}, "colour", "unknown field"),
        ({"onprem__hosts": {"h": "192.168.10.300"}}, "onprem.hosts.h", "not an IPv4 address"),
        ({"onprem__hosts": {"h": "192.168.11.3"}}, "onprem.hosts.h", "not a host address"),
        ({"expressroute__asn": 4294967296}, "expressroute.asn", "less than or equal"),
        ({"azure__gateway_subnet": "10.1.255.240/28"}, "azure.gateway_subnet", "/27"),
        ({"onprem__advertise__vpn": ["172.20.0.0/24"]}, "onprem.advertise.vpn.0", "not within"),
        ({"profile": "slow"}, "profile", "fast"),
        ({"vpn__devices": ["nowhere"]}, "vpn.devices.0", "not one of onprem.routers"),
        ({"vpn__instances": {"msee": "10.1.255.229"}}, "vpn.instances", "also used by"),
        (
            {"vpn__instances": {"a": "10.1.255.229", "b": "10.1.255.228"}},
            "vpn.instances.b",
            "twice",
        ),
        (
            {"azure__subnets": {"x": {"prefix": "10.1.255.0/24", "hosts": {"w": "10.1.255.4"}}}},
            "azure.subnets.x.prefix",
            "GatewaySubnet",
        ),
        (
            {"azure__subnets": {"x": {"prefix": "10.1.1.0/24", "hosts": {"w": "10.1.1.1"}}}},
            "azure.subnets.x.hosts.w",
            "used twice",
        ),
        ({"timers": {"keepalive_s": 2, "hold_s": 3}}, "timers", "a third of hold_s"),
        (
            {"onprem__routers": {"r" * 25: "192.168.10.1"}},
            f"onprem.routers.{'r' * 25}",
            "node name",
        ),
    ],
)
def test_bad_topology_is_one_line(changes: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_topology(variant(**changes), "bad.yaml")
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"bad.yaml: {field}:"), msg
    assert words in msg


def test_missing_daemon_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(lab_preflight.DAEMONS, "bird", "/nonexistent/bird-not-here")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(EnvironmentProblem, match=r"bird is missing .* scripts/setup.sh"):
        preflight()


def test_not_root_is_refused_before_anything_is_created(tmp_path: Path) -> None:
    code = "from erdrill.lab.preflight import preflight; preflight()"
    out = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            str(Path(ERDRILL).parent / "python"),
            "-c",
            f"import sys\ntry:\n    {code}\nexcept Exception as e:\n    print(e); sys.exit(3)",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[1],
    )
    assert out.returncode == 3, out.stderr
    assert "needs root" in out.stdout


def test_cli_bad_topology_one_line_and_nothing_created(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(variant(prefix="erd-bad", expressroute__asn=0)))
    out = subprocess.run(
        [ERDRILL, "lab", "up", "--topology", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ERDRILL_LAB_ROOT": str(tmp_path)},
    )
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "expressroute.asn" in out.stderr and "Traceback" not in out.stderr
    netns = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert "erd-bad" not in netns


def test_extends_merges_over_the_default() -> None:
    t = load_topology(topology.DEFAULT_TOPOLOGY.parent / "vpn-more-specific.yaml")
    assert t.onprem.advertise.vpn == ["192.168.10.0/25", "192.168.10.128/25"]
    assert t.workload_address == "10.1.1.4"


yaml_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.sampled_from(["10.0.0.1/24", "192.168.10.0/24", "fast", "azure", "erd-x"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "prefix",
                    "onprem",
                    "azure",
                    "expressroute",
                    "vpn",
                    "circuits",
                    "hosts",
                    "routers",
                    "asn",
                    "bfd",
                    "timers",
                    "lan",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(yaml_values)
def test_any_input_gives_a_topology_or_one_line_error(data: object) -> None:
    try:
        parse_topology(data, "fuzz.yaml")
    except ConfigError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["onprem", "azure", "expressroute", "vpn", "bfd", "timers", "name"]),
        yaml_values,
        max_size=3,
    )
)
def test_overrides_of_the_default_never_crash(over: dict[str, object]) -> None:
    data = {**DEFAULT, **over}
    try:
        parse_topology(data, "fuzz.yaml")
    except ConfigError as exc:
        assert "\n" not in str(exc)


FIXTURES = Path(__file__).parent / "fixtures"


def test_a_topology_in_the_earlier_format_is_told_the_format_changed() -> None:
    with pytest.raises(ConfigError) as caught:
        load_topology(FIXTURES / "single-workload-topology.yaml")
    message = str(caught.value)
    assert "\n" not in message and "check the spelling" not in message
    assert "onprem.host: the topology format changed: onprem.host is now onprem.hosts" in message


@pytest.mark.parametrize(
    ("section", "field", "value", "new"),
    [
        ("azure", "workload", "10.1.1.4/24", "azure.subnets.<name>.hosts"),
        ("onprem", "er_address", "172.16.0.1/30", "expressroute.circuits[].primary.peering"),
        ("azure", "vpn_gateway", "10.1.255.229", "vpn.instances"),
    ],
)
def test_each_field_of_the_earlier_format_names_its_new_field(
    section: str, field: str, value: str, new: str
) -> None:
    data = variant(**{f"{section}__{field}": value})
    with pytest.raises(ConfigError, match="format changed") as caught:
        parse_topology(data)
    assert f"{section}.{field} is now {new}" in str(caught.value)


def test_a_misspelt_field_is_still_a_spelling_error() -> None:
    with pytest.raises(ConfigError, match="unknown field; check the spelling"):
        parse_topology(variant(azure__workload_tcp_prot=443))
