"""The timeline figure: a title in words, zoomed transition panels, RTT axes not set by outliers.

Tested on the matplotlib Figure that `plot_timeline` saves (`timeline_figure`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from erdrill.probes.samples import Outcome, Protocol, Sample
from erdrill.reports.timeline import (
    ZOOM_MAX_S,
    plot_timeline,
    readable_title,
    timeline_figure,
    transitions,
    words_from_test_id,
)

pytest_plugins = ["pytester"]

T0 = 1_700_000_000.0
FAULT_S, RESTORE_S = 4.0, 8.0
EVENTS = [
    {"wall": T0 + FAULT_S, "kind": "fault", "detail": "provider-link-down"},
    {"wall": T0 + RESTORE_S, "kind": "restore", "detail": "provider-link-down"},
]
SPANS = [
    (T0, T0 + FAULT_S, "expressroute"),
    (T0 + FAULT_S, T0 + RESTORE_S, "vpn"),
    (T0 + RESTORE_S, T0 + 12.0, "expressroute"),
]
PYTEST_ID = (
    "test_fault_traffic_moves_to_path_during_and_comes_back"
    "[provider-link-down-the VPN-10-2000-1000]"
)


def make_samples(
    failover_ms: float = 20.0, failback_ms: float = 350.0, spike_ms: float = 200.0
) -> list[Sample]:
    """Two flows at 100 probes/s for 12 s: 2 ms on ExpressRoute, 9 ms on the VPN, one spike."""
    out = []
    for target in ("10.1.1.4", "10.1.1.5"):
        for seq in range(1200):
            sent = T0 + seq * 0.01
            t = seq * 0.01
            lost = FAULT_S <= t < FAULT_S + failover_ms / 1000 - 1e-9 or (
                RESTORE_S <= t < RESTORE_S + failback_ms / 1000 - 1e-9
            )
            if lost:
                out.append(Sample(target, Protocol.ICMP, seq, sent, None, Outcome.LOST))
                continue
            rtt = 9.0 if FAULT_S <= t < RESTORE_S else 2.0
            if target == "10.1.1.4" and seq == 100:
                rtt = spike_ms
            out.append(Sample(target, Protocol.ICMP, seq, sent, sent + rtt / 1000, Outcome.REPLY))
    return out


def panels(fig: Figure) -> dict[str, Axes]:
    return {ax.get_label(): ax for ax in fig.axes if ax.get_label()}


def outage_patch(ax: Axes, name: str) -> tuple[float, float]:
    found = [p for p in ax.patches if p.get_gid() == f"outage:{name}"]
    assert len(found) == 1, [p.get_gid() for p in ax.patches]
    x0, _, width, _ = found[0].get_bbox().bounds
    return x0, width


def texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_each_transition_gets_a_panel_a_few_seconds_around_its_event() -> None:
    fig = timeline_figure(make_samples(), EVENTS, SPANS, outages={"failover": 20.0})
    by = panels(fig)
    assert {"flow:10.1.1.4/icmp", "flow:10.1.1.5/icmp"} <= set(by)
    overview = by["flow:10.1.1.4/icmp"].get_xlim()
    assert overview[1] - overview[0] > 12  # the whole drill
    for name, at in (("failover", FAULT_S), ("failback", RESTORE_S)):
        lo, hi = by[f"transition:{name}"].get_xlim()
        assert hi - lo < 10, (name, lo, hi)
        assert lo < at - 0.5 and at + 1.0 < hi, (name, lo, hi)
    assert by["transition:failover"].get_title(loc="left").startswith("failover: fault at +4.00 s")


def test_an_outlier_does_not_set_the_rtt_axis_and_a_20_ms_outage_shows() -> None:
    fig = timeline_figure(make_samples(), EVENTS, SPANS, outages={"failover": 20.0})
    by = panels(fig)
    spiky = by["flow:10.1.1.4/icmp"]
    top = spiky.get_ylim()[1]
    assert 9.0 < top < 20.0, top  # the 9 ms VPN replies fit, the 200 ms spike does not set it
    assert any(t.startswith("1 above") and "max 200 ms" in t for t in texts(spiky))
    clipped = [c for c in spiky.collections if c.get_offsets().shape[0] == 1]
    assert clipped and abs(float(clipped[0].get_offsets()[0][1]) - top * 0.97) < 1e-6
    # the failover panel: its y-range is the bulk of the RTTs, the outage shaded and labelled
    zoom = by["transition:failover"]
    assert zoom.get_ylim()[1] < 20.0
    x0, width = outage_patch(zoom, "failover")
    fault_x = FAULT_S
    assert x0 <= fault_x and x0 + width >= fault_x + 0.02
    lo, hi = zoom.get_xlim()
    assert width / (hi - lo) >= 0.01  # at least 1 % of the panel: a visible band
    assert "outage 20 ms" in texts(zoom)
    failback = by["transition:failback"]
    assert "outage 360 ms" in texts(failback)  # measured (last reply to first reply): no figure
    assert outage_patch(failback, "failback")[1] == pytest.approx(0.36, abs=1e-6)


def test_a_long_outage_keeps_the_panel_narrow_and_says_so() -> None:
    samples = make_samples(failover_ms=3000.0)
    events = [EVENTS[0], {**EVENTS[1], "wall": T0 + 11.5}]
    fig = timeline_figure(samples[:], events, SPANS)
    zoom = panels(fig)["transition:failover"]
    lo, hi = zoom.get_xlim()
    assert hi - lo <= ZOOM_MAX_S + 1e-9 and lo < FAULT_S < hi
    assert "outage 3,010 ms" in texts(zoom)

    endless = [s for s in make_samples() if not (s.sent - T0 >= FAULT_S and s.answered)]
    fig = timeline_figure(endless, EVENTS[:1], SPANS)
    zoom = panels(fig)["transition:failover"]
    assert any(t.startswith("outage \u2265") for t in texts(zoom))


def test_transitions_are_measured_from_the_samples() -> None:
    found = transitions(make_samples(), EVENTS)
    assert [t.name for t in found] == ["failover", "failback"]
    assert found[0].outage_ms == pytest.approx(30.0, abs=1e-3)  # last reply to first reply
    assert found[1].outage_ms == pytest.approx(360.0, abs=1e-3)
    assert transitions(make_samples(), []) == []


def test_the_title_is_in_words() -> None:
    title = readable_title(PYTEST_ID, "lab", "provider-link-down", "20250101T000000Z-ab12")
    first, second = title.split("\n")
    assert first == (
        "Fault traffic moves to path during and comes back (provider-link-down-the VPN-10-2000-1000)"
    )
    assert second == "target lab, fault provider-link-down, run 20250101T000000Z-ab12"
    gherkin = "provider-link-down: traffic moves to the VPN and comes back"
    assert readable_title(gherkin, "azure").split("\n") == [gherkin, "target azure, no fault"]
    assert words_from_test_id("test_steady_state") == "Steady state"
    fig = timeline_figure(make_samples(), EVENTS, SPANS, title=title)
    assert fig.get_suptitle() == title


def test_plot_timeline_saves_the_figure(tmp_path: Path) -> None:
    out = plot_timeline(make_samples(), EVENTS, SPANS, tmp_path / "t.png", title="x")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(panels(timeline_figure([], [], []))) == 1  # no samples: one empty row


FEATURE = """\
Feature: Failover
  Scenario Outline: <fault>: traffic moves to <path> and comes back
    Given a fault

    Examples:
      | fault              | path    |
      | provider-link-down | the VPN |

  Scenario: The documented test plan
    Given a fault
"""


def test_the_title_names_the_gherkin_scenario_not_the_pytest_id(
    pytester: pytest.Pytester,
) -> None:
    """erdrill.pytest_reports reads the rendered scenario name of a pytest-bdd item for the title."""
    pytester.makefile(".feature", failover=FEATURE)
    pytester.makepyfile(
        test_failover="""
        from pytest_bdd import given, scenarios
        scenarios("failover.feature")

        @given("a fault")
        def _fault():
            pass
        """
    )
    pytester.makeconftest(
        """
        from erdrill.pytest_reports import gherkin_scenario

        def pytest_collection_modifyitems(items):
            with open("names.txt", "w") as f:
                f.writelines(f"{item.name} => {gherkin_scenario(item).title}\\n" for item in items)
        """
    )
    result = pytester.runpytest(
        "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:allure_pytest"
    )
    assert result.ret == 0, result.stdout.str()
    names = (pytester.path / "names.txt").read_text().splitlines()
    assert sorted(names) == [
        "test_fault_traffic_moves_to_path_and_comes_back[provider-link-down-the VPN] => "
        "provider-link-down: traffic moves to the VPN and comes back",
        "test_the_documented_test_plan => The documented test plan",
    ]


def test_a_panel_covers_the_path_change_and_its_sustain_period() -> None:
    """The documented plan's failback: restored at +4.06 s, the path back at +8.6 s, no loss."""
    restore_s, back_s, sustain_s = 4.06, 8.6, 2.0
    samples = [
        Sample("10.1.1.4", Protocol.ICMP, seq, T0 + seq * 0.01, T0 + seq * 0.01 + 0.002,
               Outcome.REPLY)
        for seq in range(1200)
    ]  # fmt: skip
    events = [
        {"wall": T0 + 1.0, "kind": "fault", "detail": "provider-link-down"},
        {"wall": T0 + restore_s, "kind": "restore", "detail": "provider-link-down"},
    ]
    spans = [
        (T0, T0 + 1.1, "expressroute"),
        (T0 + 1.1, T0 + back_s, "vpn"),
        (T0 + back_s, T0 + 12.0, "expressroute"),
    ]
    fig = timeline_figure(samples, events, spans, sustain_s=sustain_s)
    for name, change in (("failover", 1.1), ("failback", back_s)):
        lo, hi = panels(fig)[f"transition:{name}"].get_xlim()
        assert lo < change and hi >= change + sustain_s, (name, lo, hi)
    assert [t.changed_at for t in transitions(samples, events, spans)] == [T0 + 1.1, T0 + back_s]
