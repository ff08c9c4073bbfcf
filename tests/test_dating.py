"""Which evidence dates a transition (drill.dating), from synthetic samples and path reads.

The face case of issue 19: a 40 s write that changes the network 30 s in; the watcher's
route read (ARM read cycle, Retry-After 15) sees it at 42.4 s; no probe is lost."""

from __future__ import annotations

from erdrill.core.paths import ON_EXPRESSROUTE, ON_VPN
from erdrill.drill.dating import Evidence, date_change, first_on_new_path
from erdrill.probes.samples import Outcome, Protocol, Sample

SIGS = {"10.1.1.4": {"expressroute": 60, "vpn": 61}}
T0 = 1_000.0  # the fault was requested


def probes(
    start: float, end: float, *, vpn_from: float, lost: tuple[float, float] | None = None
) -> list[Sample]:
    """One probe every 0.1 s: reply TTL 60 (ExpressRoute) until `vpn_from`, then 61 (VPN)."""
    out = []
    for i in range(round((end - start) * 10)):
        sent = start + i / 10
        gone = lost is not None and lost[0] <= sent < lost[1]
        out.append(
            Sample(
                "10.1.1.4", Protocol.ICMP, i, sent, None if gone else sent + 0.002,
                Outcome.LOST if gone else Outcome.REPLY, ttl=None if gone else (
                    61 if sent >= vpn_from else 60),
            )
        )  # fmt: skip
    return out


HISTORY = [(T0 - 10.0, ON_EXPRESSROUTE), (T0 + 42.4, ON_VPN)]  # the route read, 12.4 s late


def test_a_hitless_change_is_dated_by_the_first_probe_on_the_new_path() -> None:
    samples = probes(T0 - 5, T0 + 45, vpn_from=T0 + 30.0)
    dated = date_change(T0, T0 + 45.0, HISTORY, samples, SIGS, probe_loss=True)
    assert dated.by is Evidence.FIRST_PROBE_ON_NEW_PATH
    assert abs(dated.at - (T0 + 30.0)) < 0.11, dated


def test_without_signatures_the_route_read_dates_it() -> None:
    samples = probes(T0 - 5, T0 + 45, vpn_from=T0 + 30.0)
    dated = date_change(T0, T0 + 45.0, HISTORY, samples, {}, probe_loss=True)
    assert dated.by is Evidence.PATH_READ and dated.at == T0 + 42.4


def test_a_lost_probe_before_the_new_path_dates_it() -> None:
    samples = probes(T0 - 5, T0 + 45, vpn_from=T0 + 31.0, lost=(T0 + 29.5, T0 + 31.0))
    dated = date_change(T0, T0 + 45.0, HISTORY, samples, SIGS, probe_loss=True)
    assert dated.by is Evidence.FIRST_LOST_PROBE and abs(dated.at - (T0 + 29.5)) < 0.01


def test_nothing_seen_before_the_call_returned_dates_it_at_the_return() -> None:
    samples = probes(T0 - 5, T0 + 45, vpn_from=T0 + 41.0)  # both signs after the return
    dated = date_change(T0, T0 + 40.0, HISTORY, samples, SIGS, probe_loss=True)
    assert dated == date_change(T0, T0 + 40.0, HISTORY[:1], [], {}, probe_loss=False)
    assert dated.by is Evidence.CALL_RETURNED and dated.at == T0 + 40.0


def test_a_flow_with_no_settled_path_before_the_request_cannot_tell() -> None:
    mixed = probes(T0 - 5, T0 + 45, vpn_from=T0 - 0.2)  # it changed just before the request
    assert first_on_new_path(mixed, SIGS, T0, T0 + 45.0) is None
    assert first_on_new_path(probes(T0 - 5, T0 + 45, vpn_from=T0 + 3), {}, T0, T0 + 45) is None
