"""The verification vote on the App's side (issue 14): a refuted finding never blocks, shows as a
notice with the votes' reasons, and is recorded; findings beyond the vote block unverified."""

from __future__ import annotations

from appkit import Gate, artifact, finding, report_for

from action.report import Verification, VerificationRun, Vote
from tests.app.flows.test_governance import audit, ledger_files


def refuted(anchor: str) -> object:
    votes = [
        Vote(verdict="refute", reason="The canon allows it as a hint."),
        Vote(verdict="refute", reason="Not what the canon says."),
        Vote(verdict="confirm", reason="It reads as the gate."),
    ]
    return finding(anchor=anchor).model_copy(update={"verification": Verification(votes=votes)})


async def test_a_refuted_finding_never_blocks_and_shows_its_votes(gate: Gate) -> None:
    pull = gate.repo.open_pull(140, {"docs/guide.md": "x\n"})
    check = await audit(gate, pull, [refuted("one anchor")])
    assert check.conclusion == "success"
    assert "1 refuted by the vote" in check.output["title"]
    [note] = gate.repo.check_runs[check.id].annotations
    assert note["annotation_level"] == "notice"
    assert "Refuted by the verification vote (2 of 3 refute)" in note["message"]
    assert "The canon allows it as a hint." in note["message"]
    # The ledger keeps the votes with the report.
    [record] = [v for p, v in ledger_files(gate).items() if p.startswith("prs/140/audits/")]
    assert record["report"]["findings"][0]["verification"]["votes"][0]["verdict"] == "refute"


async def test_findings_beyond_the_vote_block_unverified_and_the_summary_says_so(
    gate: Gate,
) -> None:
    pull = gate.repo.open_pull(141, {"docs/guide.md": "x\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload) == 200
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    vote = VerificationRun(votes=3, verified=1, unverified=2, sessions=3, cost_usd=0.05)
    report = report_for(run, findings=[refuted("a"), finding(anchor="b"), finding(anchor="c")])
    report = report.model_copy(update={"verification": vote})
    done = gate.fake.complete_run(gate.repo, run.id, "success", artifact(report))
    assert await gate.deliver("workflow_run", done) == 200
    concluded = gate.repo.check_runs[check.id]
    assert concluded.conclusion == "failure"
    summary = concluded.output["summary"]
    assert "2 substantive findings over the vote's limit" in summary
    assert "3 votes on 1 finding" in summary


async def test_a_version_2_report_is_still_read(gate: Gate) -> None:
    pull = gate.repo.open_pull(142, {"docs/guide.md": "x\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload) == 200
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    older = report_for(run, findings=[finding()]).model_dump(mode="json")
    older["schema_version"] = 2
    done = gate.fake.complete_run(gate.repo, run.id, "success", artifact(older))
    assert await gate.deliver("workflow_run", done) == 200
    assert gate.repo.check_runs[check.id].conclusion == "failure"  # judged, not refused
