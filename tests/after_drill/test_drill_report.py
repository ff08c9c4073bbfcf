"""The real drill's report, opened as an auditor would: run by scripts/test.sh after
`pytest features/` and `erdrill report` (it needs their output, so it is not part of
`pytest tests/`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from reportkit import decode_embedded, description_text, rendered_text, result_id_of

pytestmark = pytest.mark.drill  # reads the report of the drill run just before (scripts/test.sh)

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


def test_the_documented_plan_shows_its_figures_limits_paths_and_findings(tmp_path: Path) -> None:
    """Figures at a glance: in the test's description, without opening an attachment."""
    tr = result_id_of(REPORT, SCENARIO)
    page = description_text(REPORT, tr, tmp_path / "p3")
    assert re.search(
        r"failover outage \d+ ms \(outage_ms\), limit 15000 ms: met by \d+ ms", page
    ), page[:3000]
    assert re.search(r"failback outage \d+ ms \(outage_ms\), limit 5000 ms: (met|MISSED) by", page)
    assert "before: forward expressroute, return expressroute" in page
    assert "during: forward vpn, return vpn" in page
    assert "Findings" in page and "Freshness: lab (topology reference, lab prefix erd-lab)" in page
    attachments = rendered_text(REPORT, f"{tr}/attachments", tmp_path / "p4")
    assert "findings application/json" in attachments, attachments[-800:]


def test_the_front_page_summarises_the_run() -> None:
    embedded = decode_embedded(REPORT.read_text())
    env = json.dumps(json.loads(embedded["widgets/allure_environment.json"]))
    assert "drills this run" in env and "targets overdue" in env, env[:1000]
    texts = [blob.decode("utf-8", "replace") for blob in embedded.values()]
    assert any(t.startswith("erdrill drill summary") and SCENARIO in t for t in texts)
