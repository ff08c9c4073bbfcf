"""The drill config: defaults, examples, and one-line errors for any input (property tests)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erdrill.core.config import DrillConfig, load_drill_config, parse_drill_config
from erdrill.core.errors import ConfigError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

AZURE = """
[target]
kind = "azure"
[azure]
subscription_id = "00000000-0000-4000-8000-00000000e7d1"
resource_group = "rg"
circuit = "c"
er_gateway = "er"
vpn_gateway = "vpn"
vpn_connection = "conn"
nic = "nic"
onprem_prefixes = ["192.168.10.0/24"]
"""


def test_none_gives_lab_defaults() -> None:
    cfg = load_drill_config(None)
    assert cfg == DrillConfig()
    assert cfg.target.kind == "lab" and cfg.drill.probe_rate == 200


@pytest.mark.parametrize("name", ["lab-as-azure.toml", "azure.toml"])
def test_examples_load(name: str) -> None:
    cfg = load_drill_config(EXAMPLES / name)
    assert cfg.target.kind == "azure" and cfg.azure is not None


def test_azure_defaults() -> None:
    az = parse_drill_config(AZURE).azure
    assert az is not None
    assert az.peering == "AzurePrivatePeering"
    assert az.arm_endpoint == "https://management.azure.com"
    assert az.classification.rule == "as-path-12076"
    assert az.fault_method == "operator"


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ('[drill]\nprobe_rate = "fast"', "drill.probe_rate", "whole number"),
        ("[drill]\nprob_rate = 1", "drill.prob_rate", "unknown field"),
        ("[drill]\nfailover_limit_s = -1", "drill.failover_limit_s", "positive"),
        ("[drill]\nfailover_limit_s = 500", "drill.abort_limit_s", "at least"),
        ('[target]\nkind = "gcp"', "target.kind", "'lab' or 'azure'"),
        ('[target]\nkind = "azure"', "azure", "[azure] section"),
        ('[probe]\ntargets = [{address = "10.1.1.400"}]', "probe.targets[0].address", "IP address"),
        (
            AZURE.replace("192.168.10.0/24", "192.168.10.1/24"),
            "azure.onprem_prefixes",
            "host bits zero",
        ),
        (AZURE + 'fault_method = "command"', "azure.fault_commands", "inject"),
        (
            AZURE + 'fault_method = "site-failover-simulation"',
            "azure.circuits",
            "two peering locations",
        ),
        (AZURE + 'arm_endpoint = "http://x"', "azure.arm_endpoint", "https"),
        (
            AZURE + 'fault_method = "disable-peering"\npeering = "MicrosoftPeering"',
            "azure.peering",
            "only AzurePrivatePeering",
        ),
        (
            AZURE + '[azure.classification]\nrule = "next-hop"',
            "azure.classification.er_next_hops",
            "needs",
        ),
        ("[drill\n", "(syntax)", "fix the TOML syntax"),
    ],
)
def test_errors_name_the_field_and_fix(text: str, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_drill_config(text, "drill.toml")
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"drill.toml: {field}: "), msg
    assert words in msg


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_drill_config(tmp_path / "nope.toml")


def test_binary_file_is_one_line(tmp_path: Path) -> None:
    p = tmp_path / "bin.toml"
    p.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_drill_config(p)


def test_relative_ca_bundle_resolves_beside_the_file(tmp_path: Path) -> None:
    p = tmp_path / "d.toml"
    p.write_text(AZURE + 'ca_bundle = "ca.pem"\n')
    cfg = load_drill_config(p)
    assert cfg.azure is not None and cfg.azure.ca_bundle == str(tmp_path / "ca.pem")


# --- property tests: any input gives a DrillConfig or a one-line ConfigError ---------------

KEYS = [
    "drill",
    "probe",
    "target",
    "azure",
    "probe_rate",
    "failover_limit_s",
    "failback_limit_s",
    "abort_limit_s",
    "sustain_s",
    "late_ms",
    "targets",
    "address",
    "tcp_port",
    "name",
    "namespace",
    "kind",
    "subscription_id",
    "resource_group",
    "circuit",
    "peering",
    "er_gateway",
    "vpn_gateway",
    "vpn_connection",
    "nic",
    "onprem_prefixes",
    "classification",
    "rule",
    "er_next_hops",
    "fault_method",
    "fault_commands",
    "inject",
    "undo",
    "arm_endpoint",
    "ca_bundle",
    "ttl_signatures",
    "expressroute",
    "vpn",
]
scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=20),
    st.sampled_from(
        [
            "lab",
            "azure",
            "10.1.0.0/16",
            "10.1.1.4",
            "operator",
            "command",
            "00000000-0000-4000-8000-00000000e7d1",
            "next-hop",
            "https://x",
        ]
    ),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=8))
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)
documents = st.dictionaries(keys, values, max_size=5)


def _toml_key(k: str) -> str:
    return '"' + k.encode("unicode_escape").decode().replace('"', '\\"') + '"'


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _toml_key(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"


def _to_toml(doc: dict[str, Any]) -> str:
    return "\n".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in doc.items()) + "\n"


def _judge(text: str) -> None:
    try:
        cfg = parse_drill_config(text, "prop.toml")
    except ConfigError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg and "\r" not in msg
        assert msg.startswith("prop.toml: ")
    else:
        assert isinstance(cfg, DrillConfig)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_toml_document_is_a_config_or_a_one_line_error(doc: dict[str, Any]) -> None:
    _judge(_to_toml(doc))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_config_or_a_one_line_error(text: str) -> None:
    _judge(text)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS[4:10]), scalars, max_size=6))
def test_any_drill_section_is_a_config_or_a_one_line_error(section: dict[str, Any]) -> None:
    _judge("[drill]\n" + _to_toml(section))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS[14:]), values, max_size=8))
def test_any_azure_section_is_a_config_or_a_one_line_error(section: dict[str, Any]) -> None:
    _judge(AZURE + _to_toml(section))
