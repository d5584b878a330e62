"""What the session's findings become in the report: no finding hides or takes over another."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes.anthropic import FakeAnthropic, structured

from tests.action.support import audit

pytestmark = pytest.mark.cli


def finding(classification: str, **extra: Any) -> dict[str, Any]:
    return {
        "classification": classification,
        "kind": "contradiction",
        "path": "docs/ci.md",
        "start_line": 2,
        "claim": f"A {classification} claim.",
        "evidence": [{"quote": "a regex decides whether a PR merges", "source": "docs/ci.md"}],
        **extra,
    }


async def test_a_cosmetic_finding_never_hides_a_substantive_one_with_its_id(
    checkouts: tuple[Path, Path], fake: FakeAnthropic
) -> None:
    # Same path, kind, canon and evidence: one id. Listed cosmetic first, as an attacker would ask.
    fake.script = [structured({"findings": [finding("cosmetic"), finding("substantive")]})]
    report = await audit(checkouts, fake)
    assert report.error is None, report.error
    (only,) = report.findings
    assert only.classification == "substantive"
    assert only.claim == "A substantive claim."
    assert report.status == "fail"
