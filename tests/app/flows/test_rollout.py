"""Rolling a gate out and keeping its cost in bounds (issue 15, items 17-18): advisory mode never
blocks but shows and records what would have failed; a daily cap on a repository's sessions,
counted from its ledger, refuses with the reset time and never passes."""

from __future__ import annotations

from typing import Any

from appkit import Gate, finding

from app.ledger.store import BRANCH
from tests.app.flows.test_governance import audit, ledger_files


def config(gate: Gate, text: str) -> None:
    gate.repo.commit("main", {".github/canon-gate.yml": text}, "config")


async def test_advisory_mode_shows_the_findings_but_concludes_neutral(gate: Gate) -> None:
    config(gate, "mode: advisory\n")
    pull = gate.repo.open_pull(150, {"docs/guide.md": "x\n"})
    check = await audit(gate, pull, [finding()])
    assert check.conclusion == "neutral"
    assert check.output["title"].startswith("Would have failed: 1 substantive finding")
    assert "Advisory mode" in check.output["summary"]
    [note] = gate.repo.check_runs[check.id].annotations
    assert note["annotation_level"] == "failure"  # the finding is shown as it would block
    [record] = [v for p, v in ledger_files(gate).items() if p.startswith("prs/150/audits/")]
    assert (record["conclusion"], record["advisory"]) == ("neutral", True)
    head = gate.repo.store.commits[gate.repo.head(BRANCH) or ""]
    assert "(advisory)" in head.message.splitlines()[0]


async def test_advisory_mode_passes_a_clean_change_as_success(gate: Gate) -> None:
    config(gate, "mode: advisory\n")
    pull = gate.repo.open_pull(151, {"docs/guide.md": "x\n"})
    assert (await audit(gate, pull, [])).conclusion == "success"


async def started(gate: Gate, number: int) -> Any:
    pull = gate.repo.open_pull(number, {"docs/guide.md": f"{number}\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload) == 200
    return pull


async def test_the_daily_cap_refuses_with_the_reset_time_and_never_passes(gate: Gate) -> None:
    config(gate, "limits:\n  daily_sessions: 2\n")
    for number in (152, 153):
        await audit(gate, gate.repo.open_pull(number, {"docs/guide.md": f"{number}\n"}), [])
    runs_before = len(gate.repo.runs)
    pull = await started(gate, 154)
    [refused] = [c for c in gate.check_runs() if c.head_sha == pull.head_sha]
    assert refused.conclusion == "action_required"
    assert "2 of 2 daily sessions used; resets" in refused.output["title"]
    assert "UTC" in refused.output["title"]
    assert len(gate.repo.runs) == runs_before  # nothing dispatched: no session paid for


async def test_without_a_cap_the_ledger_is_not_even_read_for_it(gate: Gate) -> None:
    gate.fake.calls.clear()
    await started(gate, 155)
    assert not gate.fake.calls_to("GET", "/repos/{owner}/{repo}/commits")
