"""Key hygiene as a doctor check (offline: no history, no verification)."""

from __future__ import annotations

from claude_health.tools.keys.report import scan_keys
from claude_health.tools.outcome import CheckOutcome
from claude_health.tools.paths import Workspace


def run_check(ws: Workspace) -> CheckOutcome:
    report = scan_keys(ws)
    return CheckOutcome(findings=report.findings, data=report.stats.to_json())
