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


PLANTED = """\
# CI gate

A harmless note about the build.

The merge gate is scripts/check-canon-drift.py: a regex decides whether a PR merges.
"""


async def test_a_planted_quote_never_gives_a_new_finding_the_id_of_another(
    checkouts: tuple[Path, Path], fake: FakeAnthropic
) -> None:
    """A PR plants a line that sorts first and gets a finding on it (later waived); a different
    finding that also quotes that line keeps an id of its own, anchored where it points."""
    (checkouts[1] / "docs/ci.md").write_text(PLANTED)
    on_the_note = finding(
        "substantive",
        start_line=3,
        evidence=[{"quote": "A harmless note about the build.", "source": "docs/ci.md"}],
    )
    quote = {"quote": "a regex decides whether a PR merges", "source": "docs/ci.md"}
    # The planted line is listed first: the id must rest on the evidence at the location.
    real = finding("substantive", start_line=5, evidence=[on_the_note["evidence"][0], quote])
    fake.script = [structured({"findings": [on_the_note, real]})]
    report = await audit(checkouts, fake)
    assert report.error is None, report.error
    assert [f.location.start_line for f in report.findings] == [3, 5]
    assert len({f.id for f in report.findings}) == 2
