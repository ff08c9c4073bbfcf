"""The file loaders, fuzzed from the file up: any bytes give a valid object or a one-line error.

tests/test_config.py and tests/test_topology.py fuzz the parsed documents; these go through
`load_drill_config` and `load_topology` with raw bytes (bad UTF-8, bad TOML/YAML syntax,
`extends` chains to missing or looping files), where a traceback could still escape.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from erdrill.core.config import DrillConfig, load_drill_config
from erdrill.core.errors import ConfigError
from erdrill.lab.topology import Topology, load_topology

WORK = Path(tempfile.mkdtemp(prefix="erdrill-loader-props-"))


def fuzzed(lines: list[str], most: int) -> st.SearchStrategy[bytes]:
    """What a config file may hold: random bytes, random text, or up to `most` of `lines`."""
    return st.one_of(
        st.binary(max_size=120),
        st.text(max_size=120).map(str.encode),
        st.lists(st.sampled_from(lines), max_size=most).map(lambda ls: "\n".join(ls).encode()),
    )


toml_like = fuzzed(
    [
        "[drill]",
        "[azure]",
        "[probe]",
        "[[probe.targets]]",
        "[target]",
        'kind = "lab"',
        'kind = "azure"',
        "probe_rate = 0",
        "probe_rate = 100",
        "sustain_s = -1",
        "abort_limit_s = 1",
        "failover_limit_s = 1e400",
        'address = "10.1.1.4"',
        "x = [",
        "= 1",
        '"\\u0000" = 1',
        "late_ms = nan",
    ],
    8,
)
yaml_like = fuzzed(
    [
        "extends: default",
        "extends: nowhere.yaml",
        "extends: loop.yaml",
        "extends: [a]",
        "prefix: erd-x",
        "prefix: X",
        "name: n",
        "onprem: {asn: -1}",
        "bfd: maybe",
        "timers: [1, 2]",
        "azure: {workload: 10.1.1.4}",
        "- a",
        "{",
        "? x",
        "&a [*a]",
        "!!python/object:os.system x",
    ],
    6,
)
(WORK / "loop.yaml").write_text("extends: loop.yaml\nname: loop\n")


def _judge(load: Callable[[Path], object], kind: type, data: bytes, name: str) -> None:
    path = WORK / name
    path.write_bytes(data)
    try:
        got = load(path)
    except ConfigError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg and "\r" not in msg, msg
    else:
        assert isinstance(got, kind)


@settings(max_examples=300, deadline=None)
@given(toml_like)
def test_any_config_file_is_a_config_or_a_one_line_error(data: bytes) -> None:
    _judge(load_drill_config, DrillConfig, data, "fuzz.toml")


@settings(max_examples=300, deadline=None)
@given(yaml_like)
def test_any_topology_file_is_a_topology_or_a_one_line_error(data: bytes) -> None:
    _judge(load_topology, Topology, data, "fuzz.yaml")
