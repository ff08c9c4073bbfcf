"""The real drill's report, opened as an auditor would: run by scripts/test.sh after
`pytest features/` and `erdrill report` (it needs their output, so it is not part of
`pytest tests/`)."""

from __future__ import annotations

import json
from pathlib import Path

from reportkit import decode_embedded, rendered_text, result_id_of

REPO = Path(__file__).resolve().parents[2]
REPORT = REPO / "reports" / "erdrill-report.html"
SCENARIO = "The documented test plan: the provider stops ExpressRoute, then restores it"


def test_the_drill_report_shows_the_scenario_its_steps_and_the_timeline(tmp_path: Path) -> None:
    assert REPORT.exists(), "run `pytest features/` and `erdrill report` first"
    tr = result_id_of(REPORT, SCENARIO)
    page = rendered_text(REPORT, tr, tmp_path / "p1")
    assert SCENARIO in page
    for step in (
        "Given probes run from on-premises to the workload",
        "When the provider stops ExpressRoute",
        "Then traffic returns to ExpressRoute in both directions within 60 seconds",
    ):
        assert step in page, step
    attachments = rendered_text(REPORT, f"{tr}/attachments", tmp_path / "p2")
    assert "timeline image/png" in attachments, attachments[-800:]
    assert "drill record" in attachments


def test_the_timeline_is_a_plot_of_the_runs_samples() -> None:
    embedded = decode_embedded(REPORT.read_text())
    pngs = [blob for name, blob in embedded.items() if blob[:8] == b"\x89PNG\r\n\x1a\n"]
    assert pngs, "no PNG attachment embedded in the report"
    results = [
        json.loads(blob) for name, blob in embedded.items() if name.startswith("data/test-results/")
    ]
    assert any(r.get("name") == SCENARIO for r in results)
    drills = sorted((REPO / "reports" / "drills").glob("*/timeline.png"))
    assert drills and any(p.read_bytes() in pngs for p in drills), (
        "the embedded timeline is not one the drill plotted from its samples"
    )
