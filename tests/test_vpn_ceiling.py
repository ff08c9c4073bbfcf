"""The lab's VPN path carries only so many probes/s (user-space ESP): a lab drill probing
faster is refused before anything is built, in one line naming [drill] probe_rate and the
limit; the limit is the one measured on this machine (benchmarks/vpn_ceiling.py --save)."""

from __future__ import annotations

from pathlib import Path

import pytest

from erdrill.core.errors import ConfigError
from erdrill.lab.topology import DEFAULT_TOPOLOGY, load_topology
from erdrill.probes.ceiling import RateTry, search_ceiling
from erdrill.targets.vpn_ceiling import (
    DEFAULT_VPN_CEILING,
    check_probe_rate,
    lab_vpn_ceiling,
    save_vpn_ceiling,
    total_probe_rate,
)

REDUNDANT = load_topology(DEFAULT_TOPOLOGY.parent / "redundant.yaml")


def test_the_total_rate_counts_every_workload_and_both_protocols() -> None:
    assert total_probe_rate(load_topology(), 200) == 400
    assert total_probe_rate(REDUNDANT, 200) == 200 * 4 * 2


def test_a_rate_above_the_ceiling_is_refused_naming_probe_rate_and_the_limit(
    tmp_path: Path,
) -> None:
    check_probe_rate(REDUNDANT, DEFAULT_VPN_CEILING // 8, state_dir=tmp_path)  # at the limit
    with pytest.raises(ConfigError) as caught:
        check_probe_rate(REDUNDANT, DEFAULT_VPN_CEILING // 8 + 1, state_dir=tmp_path)
    message = str(caught.value)
    assert "\n" not in message and "[drill] probe_rate" in message
    assert f"above the {DEFAULT_VPN_CEILING:,}/s the lab's VPN path carries" in message
    assert f"set probe_rate to at most {DEFAULT_VPN_CEILING // 8}" in message


def test_a_measured_ceiling_replaces_the_default(tmp_path: Path) -> None:
    save_vpn_ceiling(1200, "reference", state_dir=tmp_path)
    assert lab_vpn_ceiling(tmp_path).probes_per_s == 1200
    with pytest.raises(ConfigError, match=r"above the 1,200/s .* \(measured "):
        check_probe_rate(load_topology(), 601, state_dir=tmp_path)
    (tmp_path / "lab-vpn-ceiling.json").write_text("not json")
    assert lab_vpn_ceiling(tmp_path).probes_per_s == DEFAULT_VPN_CEILING


def test_the_search_finds_the_highest_clean_rate() -> None:
    def link(total: int) -> RateTry:  # carries 6,300/s, drops above
        return RateTry(total, total * 3, max(0, total - 6300), 0, 3.0)

    best, tries = search_ceiling(link, start=1000, precision=0.02)
    assert 6300 * 0.98 <= best <= 6300
    assert [t.total for t in tries[:4]] == [1000, 2000, 4000, 8000]
    assert search_ceiling(link, start=7000)[0] == 0
    assert search_ceiling(link, start=1000, most=3000)[0] == 2000  # never lost: the last tried
