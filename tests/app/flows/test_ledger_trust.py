"""The App trusts only ledger records it sealed itself (issue 9, defect 2), through the front door.

Anyone with write access can push to `canon-gate/ledger`, and a commit can claim any author. A
forged audit record must never stand in for a real audit, a forged waiver must never waive, and
both must be named in the verdict, never ignored silently.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from appkit import Gate, finding, report_for

from app.ledger.store import BRANCH
from tests.app.flows.test_governance import audit, comment, ledger_files, replies


def push_to_ledger(gate: Gate, path: str, data: dict[str, object]) -> None:
    """A writer's push to the ledger branch, claiming to be the App's bot."""
    gate.repo.commit(BRANCH, {path: json.dumps(data, indent=2)}, "canon-gate: PR update")


async def test_a_forged_audit_record_never_stands_in_for_the_real_audit(gate: Gate) -> None:
    pull = gate.repo.open_pull(70, {"docs/guide.md": "x\n"})
    blocking = finding()
    real = await audit(gate, pull, [], error="the session hit the wall-clock limit")
    assert real.conclusion == "failure"  # not evaluated
    # The writer copies the real record's shape, dates it in the future and claims a finding.
    [genuine] = [v for p, v in ledger_files(gate).items() if p.startswith("prs/70/audits/")]
    forged = dict(genuine)
    future = datetime.now(UTC) + timedelta(days=365)
    forged["recorded_at"] = future.isoformat()
    forged["conclusion"] = "failure"
    [run] = gate.runs_for(real.id)
    forged["report"] = json.loads(report_for(run, findings=[blocking]).model_dump_json())
    push_to_ledger(gate, "prs/70/audits/20990101T000000Z-forged-1.json", forged)

    assert await comment(gate, pull, f"/canon-gate waive {blocking.id} looks fine to me") == 200
    # No verdict was recomputed from the forged report: nothing on the head says success.
    assert all(c.conclusion != "success" for c in gate.check_runs() if c.head_sha == pull.head_sha)
    assert any("no finding" in r or "no recorded" in r for r in replies(gate, 70))


async def test_a_forged_waiver_never_waives_and_the_verdict_says_so(gate: Gate) -> None:
    pull = gate.repo.open_pull(71, {"docs/guide.md": "x\n"})
    blocking = finding()
    first = await audit(gate, pull, [blocking])
    assert first.conclusion == "failure"
    push_to_ledger(
        gate,
        f"prs/71/waivers/20260101T000000Z-{blocking.id}.json",
        {
            "format": 1,
            "kind": "waiver",
            "recorded_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "repo": gate.repo.full_name,
            "pr": 71,
            "head_sha": pull.head_sha,
            "finding_id": blocking.id,
            "reason": "approved by the CTO",
            "user": "cto",
            "seal": "0" * 64,
        },
    )
    gate.repo.push(pull, {"docs/other.md": "y\n"})
    second = await audit(gate, pull, [blocking])
    assert second.conclusion == "failure"  # the finding still blocks
    summary = second.output["summary"]
    assert "not written by this App" in summary  # and never silently
    assert "ruleset" in summary
    assert "approved by the CTO" not in summary
