"""Convergence figures on synthetic sample streams with known answers.

Streams are written as patterns, one character per probe at 100 probes/s (10 ms apart):
R reply, . lost, T late, U unreachable. The event is at seq 100 (T0 + 1 s).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from erdrill.core.record import TransitionFigures
from erdrill.probes.measure import Convergence, measure_transition, summarize
from erdrill.probes.samples import Outcome, Protocol, Sample

T0 = 1_700_000_000.0
RATE = 100.0
EVENT = T0 + 1.0
CODES = {"R": Outcome.REPLY, ".": Outcome.LOST, "T": Outcome.LATE, "U": Outcome.UNREACHABLE}


def stream(
    pattern: str, target: str = "10.0.0.1", protocol: Protocol = Protocol.ICMP
) -> list[Sample]:
    out = []
    for seq, code in enumerate("".join(pattern.split())):
        sent = T0 + seq / RATE
        outcome = CODES[code]
        received = {
            Outcome.REPLY: sent + 0.002,
            Outcome.LATE: sent + 1.5,
            Outcome.UNREACHABLE: sent + 0.001,
            Outcome.LOST: None,
        }[outcome]
        out.append(Sample(target, protocol, seq, sent, received, outcome))
    return out


def measure(
    samples: list[Sample], sustain_s: float = 0.1, window_end: float | None = None
) -> Convergence:
    return measure_transition(
        samples, EVENT, rate_per_flow=RATE, sustain_s=sustain_s, window_end=window_end
    )


def test_steady_traffic_has_no_convergence() -> None:
    c = measure(stream("R" * 300), sustain_s=1.0)
    assert (c.loss_derived_ms, c.outage_ms, c.first_route_ms) == (0.0, 0.0, 0.0)
    assert c.recovered and c.rate_derived_ms == 0.0 and c.recovery_at is None
    assert c.episodes == 0 and c.sampling_interval_ms == 10.0
    f = c.as_figures()
    assert (f["sent"], f["lost"], f["late"], f["duplicates"]) == (200, 0, 0, 0)


def test_burst_in_the_middle() -> None:
    # replies to seq 119, lost 120..144, replies again from seq 145
    c = measure(stream("R" * 120 + "." * 25 + "R" * 155), sustain_s=1.0)
    assert c.loss_derived_ms == 250.0  # 25 lost / 100 per s
    assert c.outage_ms == 260.0  # sent(145) - sent(119)
    assert c.first_route_ms == 450.0  # sent(145) - event
    assert c.recovery_at == pytest.approx(T0 + 1.45)
    assert c.rate_derived_ms == 450.0
    assert c.recovered and c.episodes == 1 and not c.outage_lower_bound
    assert c.as_figures()["lost"] == 25


def test_loss_before_any_reply_starts_the_outage_at_the_first_probe() -> None:
    samples = stream("." * 30 + "R" * 170)
    c = measure_transition(samples, T0, rate_per_flow=RATE, sustain_s=0.1)
    assert c.loss_at_start
    assert c.outage_ms == 300.0  # sent(30) - sent(0)
    assert c.loss_derived_ms == 300.0 and c.first_route_ms == 300.0


def test_loss_to_the_end_is_no_recovery_and_a_lower_bound() -> None:
    c = measure(stream("R" * 150 + "." * 50))
    assert not c.recovered
    assert c.outage_lower_bound
    assert c.outage_ms == 500.0  # sent(199), the last probe, - sent(149)
    assert c.loss_derived_ms == 500.0
    assert c.first_route_ms is None and c.recovery_at is None and c.rate_derived_ms is None
    assert TransitionFigures.model_validate(c.as_figures()).recovered is False


def test_replies_too_short_to_confirm_are_not_recovery() -> None:
    c = measure(stream("R" * 120 + "." * 30 + "R" * 5))
    assert not c.recovered and not c.outage_lower_bound
    assert c.outage_ms == 310.0 and c.first_route_ms == 500.0


def test_several_bursts_count_episodes_and_report_the_longest() -> None:
    pattern = "R" * 110 + "." * 10 + "R" * 30 + "." * 40 + "R" * 20 + "." * 5 + "R" * 85
    c = measure(stream(pattern))
    assert c.episodes == 3
    assert c.loss_derived_ms == 550.0  # all 55 lost in the window
    assert c.outage_ms == 410.0  # sent(190) - sent(149)
    assert c.first_route_ms == 200.0  # sent(120) - event
    assert c.rate_derived_ms == 1150.0  # sent(215) - event


def test_a_lone_reply_inside_a_burst_is_not_recovery() -> None:
    c = measure(stream("R" * 120 + "." * 10 + "R" + "." * 14 + "R" * 155))
    assert c.first_route_ms == 300.0  # the lone reply got through
    assert c.rate_derived_ms == 450.0  # recovery is at seq 145, not 130
    assert c.outage_ms == 260.0  # sent(145) - sent(119): one outage
    assert c.loss_derived_ms == 240.0
    assert c.episodes == 1 and c.flows["10.0.0.1/icmp"].bursts == 2


def test_late_replies_count_as_lost() -> None:
    c = measure(stream("R" * 120 + "T" * 5 + "." * 5 + "R" * 170))
    f = c.as_figures()
    assert (f["lost"], f["late"], f["convergence_loss"]) == (5, 5, 10)
    assert c.loss_derived_ms == 100.0 and c.outage_ms == 110.0


def test_unreachables_count_as_not_reachable() -> None:
    c = measure(stream("R" * 120 + "U" * 10 + "." * 10 + "R" * 160))
    f = c.as_figures()
    assert (f["unreachable"], f["lost"], f["convergence_loss"]) == (10, 10, 20)
    assert c.loss_derived_ms == 200.0 and c.outage_ms == 210.0


def test_duplicates_are_counted_in_the_window_only() -> None:
    samples = stream("R" * 300)
    for seq in (50, 150, 151, 200):
        samples[seq] = replace(samples[seq], duplicates=1)
    c = measure(samples)
    assert c.as_figures()["duplicates"] == 3
    assert c.loss_derived_ms == 0.0 and c.recovered


def test_reordered_replies_are_counted_and_are_not_recovery() -> None:
    samples = stream("R" * 120 + "." * 25 + "R" * 155)
    # the first reply after the burst arrives after the replies to seq 146 and 147
    samples[145] = replace(samples[145], received=samples[147].sent + 0.003)
    samples.reverse()  # input order does not matter
    c = measure(samples)
    assert c.as_figures()["reordered"] == 1
    assert c.recovery_at == pytest.approx(T0 + 1.45)
    assert c.outage_ms == 260.0 and c.loss_derived_ms == 250.0


def test_two_targets_give_route_specific_min_and_max() -> None:
    a = stream("R" * 120 + "." * 20 + "R" * 160, target="10.0.0.1")
    b = stream("R" * 110 + "." * 35 + "R" * 155, target="10.0.0.2", protocol=Protocol.TCP)
    c = measure(a + b)
    assert (c.route_specific_min_ms, c.route_specific_max_ms) == (200.0, 350.0)
    assert c.loss_derived_ms == 350.0 and c.loss_derived_mean_ms == 275.0
    assert c.first_route_ms == 400.0  # 10.0.0.1 back at seq 140
    assert c.outage_ms == 360.0  # 10.0.0.2: sent(145) - sent(109)
    f = c.as_figures()
    assert set(f["per_target"]) == {"10.0.0.1/icmp", "10.0.0.2/tcp"}
    assert f["per_target"]["10.0.0.2/tcp"]["loss_derived_ms"] == 350.0
    assert f["sent"] == 400


def test_route_specific_min_and_max_per_protocol_and_destination() -> None:
    flows = [
        stream("R" * 120 + "." * 10 + "R" * 170, target="10.0.0.1"),
        stream("R" * 120 + "." * 30 + "R" * 150, target="10.0.0.1", protocol=Protocol.TCP),
        stream("R" * 120 + "." * 20 + "R" * 160, target="10.0.0.2"),
        stream("R" * 300, target="10.0.0.2", protocol=Protocol.TCP),
    ]
    c = measure([s for f in flows for s in f])
    figures = TransitionFigures.model_validate(c.as_figures())
    rs = figures.route_specific
    assert set(rs) == {"all", "icmp", "tcp", "10.0.0.1", "10.0.0.2"}
    assert (rs["all"].flows, rs["all"].loss_derived_min_ms, rs["all"].loss_derived_max_ms) == (
        4,
        0.0,
        300.0,
    )
    assert (rs["all"].fastest, rs["all"].slowest) == ("10.0.0.2/tcp", "10.0.0.1/tcp")
    assert (rs["icmp"].loss_derived_min_ms, rs["icmp"].loss_derived_max_ms) == (100.0, 200.0)
    assert (rs["tcp"].loss_derived_min_ms, rs["tcp"].loss_derived_max_ms) == (0.0, 300.0)
    assert (rs["10.0.0.1"].loss_derived_min_ms, rs["10.0.0.1"].loss_derived_max_ms) == (
        100.0,
        300.0,
    )
    assert (rs["10.0.0.2"].outage_min_ms, rs["10.0.0.2"].outage_max_ms) == (0.0, 210.0)
    assert (figures.route_specific_min_ms, figures.route_specific_max_ms) == (0.0, 300.0)


def test_window_end_drops_later_probes() -> None:
    pattern = "R" * 120 + "." * 25 + "R" * 100 + "." * 55
    c = measure(stream(pattern), window_end=T0 + 2.44)
    assert c.loss_derived_ms == 250.0 and c.recovered
    assert c.as_figures()["sent"] == 145  # seq 100..244


def test_figures_fit_the_drill_record() -> None:
    c = measure(stream("R" * 120 + "." * 25 + "R" * 155))
    figures = TransitionFigures.model_validate(c.as_figures())
    assert (figures.loss_derived_ms, figures.outage_ms, figures.first_route_ms) == (
        250.0,
        260.0,
        450.0,
    )
    extra = figures.model_extra or {}
    assert extra["sampling_interval_ms"] == 10.0 and extra["sustain_s"] == 0.1
    assert figures.route_specific_min_ms == figures.route_specific_max_ms == 250.0
    (group, rs), *_ = figures.route_specific.items()
    assert group == "all" and rs.flows == 1  # one flow: min and max are its figure
    assert rs.loss_derived_min_ms == rs.loss_derived_max_ms == figures.loss_derived_ms
    assert rs.outage_min_ms == rs.outage_max_ms == figures.outage_ms
    assert set(figures.route_specific) == {"all", "icmp", "10.0.0.1"}


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="rate_per_flow"):
        measure_transition(stream("R"), EVENT, rate_per_flow=0)
    with pytest.raises(ValueError, match="no probe was sent"):
        measure_transition(stream("R" * 50), EVENT, rate_per_flow=RATE)


def test_summarize_steady_state() -> None:
    steady = [
        replace(s, received=s.sent + (s.seq + 1) / 1000) for s in stream("R" * 100)
    ]  # rtts 1..100 ms
    lossy = stream("R" * 95 + "." * 3 + "T" + "U", target="10.0.0.2")
    state = summarize(steady + lossy)
    a, b = state.flows["10.0.0.1/icmp"], state.flows["10.0.0.2/icmp"]
    assert (a.sent, a.lost, a.loss_ratio) == (100, 0, 0.0)
    assert (a.rtt_p50_ms, a.rtt_p99_ms) == (50.0, 99.0)
    assert (b.lost, b.loss_ratio) == (5, 0.05)
    assert not state.lossless and state.loss_ratio == 0.025
    assert summarize(steady).lossless
