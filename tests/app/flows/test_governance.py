"""Governance through the front door: ledger records, waivers, lifecycle and structure checks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from appkit import Gate, StartGate, artifact, finding, report_for

from action.report import StructureProblem
from app.ledger.store import BRANCH


async def audit(gate: Gate, pull: Any, findings: list[Any], **report_fields: Any) -> Any:
    """Deliver the PR event, run the 'workflow' with a report, return the concluded check run."""
    action = "opened" if not gate.runs_for_pr(pull.number) else "synchronize"
    payload = gate.fake.payloads.pull_request(gate.repo, pull, action)
    assert await gate.deliver("pull_request", payload) == 200
    [check] = [
        c for c in gate.check_runs() if c.head_sha == pull.head_sha and c.status != "completed"
    ]
    [run] = gate.runs_for(check.id)
    report = report_for(run, findings=findings, **report_fields)
    done = gate.fake.complete_run(gate.repo, run.id, "success", artifact(report))
    assert await gate.deliver("workflow_run", done) == 200
    return gate.repo.check_runs[check.id]


def ledger_files(gate: Gate) -> dict[str, Any]:
    """Read the ledger branch straight out of the fake's object store."""
    sha = gate.repo.head(BRANCH)
    if sha is None:
        return {}
    return {
        path: json.loads(text) if path.endswith(".json") else text
        for path, text in gate.repo.store.files_at(sha).items()
    }


async def comment(gate: Gate, pull: Any, body: str, user: str = "maintainer", **kw: Any) -> int:
    payload = gate.fake.payloads.issue_comment(gate.repo, pull.number, body, user=user, **kw)
    return await gate.deliver("issue_comment", payload)


def replies(gate: Gate, number: int) -> list[str]:
    return [c.body for c in gate.repo.comments.values() if c.issue_number == number and c.app_id]


async def test_every_verdict_is_a_ledger_commit_on_an_orphan_branch(gate: Gate) -> None:
    pull = gate.repo.open_pull(40, {"docs/guide.md": "x\n"})
    check = await audit(gate, pull, [finding()])
    assert check.conclusion == "failure"
    files = ledger_files(gate)
    [record_path] = [p for p in files if p.startswith("prs/40/audits/")]
    record = files[record_path]
    assert (record["conclusion"], record["check_run_id"], record["head_sha"]) == (
        "failure",
        check.id,
        pull.head_sha,
    )
    assert "README.md" in files
    assert not any(p.startswith(".github/") for p in files)
    head = gate.repo.store.commits[gate.repo.head(BRANCH)]
    assert "PR #40" in head.message
    assert "failure" in head.message


async def test_a_waiver_turns_failure_into_success_without_a_new_session(gate: Gate) -> None:
    pull = gate.repo.open_pull(41, {"docs/guide.md": "x\n"})
    blocking = finding()
    await audit(gate, pull, [blocking])
    sessions = len(gate.repo.runs)
    assert (
        await comment(gate, pull, f"/canon-gate waive {blocking.id} the guide is historical") == 200
    )
    newest = gate.check_runs()[-1]
    assert (newest.head_sha, newest.conclusion) == (pull.head_sha, "success")
    assert len(gate.repo.runs) == sessions  # no new session was dispatched
    [waiver] = [v for p, v in ledger_files(gate).items() if p.startswith("prs/41/waivers/")]
    assert (waiver["finding_id"], waiver["user"], waiver["reason"]) == (
        blocking.id,
        "maintainer",
        "the guide is historical",
    )
    assert any("Waived" in r for r in replies(gate, 41))


async def test_a_read_only_user_cannot_waive(gate: Gate) -> None:
    pull = gate.repo.open_pull(42, {"docs/guide.md": "x\n"})
    blocking = finding()
    await audit(gate, pull, [blocking])
    before = gate.repo.head(BRANCH)
    assert (
        await comment(gate, pull, f"/canon-gate waive {blocking.id} trust me", user="reader") == 200
    )
    assert gate.repo.head(BRANCH) == before
    assert gate.check_runs()[-1].conclusion == "failure"
    assert any("write, maintain or admin" in r for r in replies(gate, 42))


async def test_unknown_id_missing_reason_and_edited_comments_change_nothing(gate: Gate) -> None:
    pull = gate.repo.open_pull(43, {"docs/guide.md": "x\n"})
    blocking = finding()
    await audit(gate, pull, [blocking])
    before = gate.repo.head(BRANCH)
    await comment(gate, pull, "/canon-gate waive cg-0000000000 nope")
    await comment(gate, pull, f"/canon-gate waive {blocking.id}")
    await comment(gate, pull, f"/canon-gate waive {blocking.id} sneaky", action="edited")
    assert gate.repo.head(BRANCH) == before
    answers = replies(gate, 43)
    assert len(answers) == 3
    assert "has no finding" in answers[0]
    assert "needs a reason" in answers[1]
    assert "edited" in answers[2]


async def test_commands_on_issues_and_from_bots(gate: Gate) -> None:
    gate.repo.open_issue(44)
    payload = gate.fake.payloads.issue_comment(
        gate.repo, 44, "/canon-gate rerun", user="maintainer", on_pr=False
    )
    assert await gate.deliver("issue_comment", payload) == 200
    assert "pull request" in replies(gate, 44)[0]
    pull = gate.repo.open_pull(45, {"docs/guide.md": "x\n"})
    bot = gate.fake.payloads.issue_comment(
        gate.repo, pull.number, "/canon-gate rerun", user="canon-gate[bot]", user_type="Bot"
    )
    assert await gate.deliver("issue_comment", bot) == 200
    assert gate.repo.runs == {}
    assert replies(gate, 45) == []


async def test_rerun_and_help_commands(gate: Gate) -> None:
    pull = gate.repo.open_pull(46, {"docs/guide.md": "x\n"})
    await audit(gate, pull, [])
    assert await comment(gate, pull, "/canon-gate rerun") == 200
    assert len(gate.check_runs()) == 2
    assert gate.check_runs()[-1].status == "in_progress"
    assert await comment(gate, pull, "/canon-gate help", user="reader") == 200
    assert "/canon-gate waive" in replies(gate, 46)[-1]


async def test_with_the_ledger_off_waivers_are_unavailable(gate: Gate) -> None:
    gate.repo.commit("main", {".github/canon-gate.yml": "ledger: false\n"}, "ledger off")
    pull = gate.repo.open_pull(47, {"docs/guide.md": "x\n"})
    blocking = finding()
    await audit(gate, pull, [blocking])
    assert gate.repo.head(BRANCH) is None
    await comment(gate, pull, f"/canon-gate waive {blocking.id} because")
    assert "ledger is turned off" in replies(gate, 47)[-1]


async def test_a_refused_ledger_write_leaves_the_verdict_standing(gate: Gate) -> None:
    first = gate.repo.open_pull(48, {"docs/guide.md": "x\n"})
    await audit(gate, first, [])  # creates the ledger branch
    gate.fake.protect(gate.repo, BRANCH)
    pull = gate.repo.open_pull(49, {"docs/other.md": "y\n"})
    check = await audit(gate, pull, [finding()])
    assert check.conclusion == "failure"
    assert "could not be written" in check.output["summary"]


async def test_lifecycle_across_three_pushes(gate: Gate) -> None:
    pull = gate.repo.open_pull(50, {"docs/guide.md": "v1\n"})
    a, b, c = (finding(anchor=f"anchor {n}", line=n + 1) for n in range(3))
    await audit(gate, pull, [a, b])
    gate.repo.push(pull, {"docs/guide.md": "v2\n"})
    second = await audit(gate, pull, [b, c])
    summary = second.output["summary"]
    assert "Resolved" in summary
    assert a.id in summary
    assert "Persisting" in summary
    assert "New" in summary
    await comment(gate, pull, f"/canon-gate waive {c.id} accepted risk")
    gate.repo.push(pull, {"docs/guide.md": "v3\n"})
    third = await audit(gate, pull, [c])
    assert third.conclusion == "success"  # b resolved, c waived and still following its finding
    assert "Waived" in third.output["summary"]
    history = sorted(p for p in ledger_files(gate) if p.startswith("prs/50/"))
    assert [p.split("/")[2] for p in history].count("audits") == 3
    assert [p.split("/")[2] for p in history].count("waivers") == 1


async def test_structure_problems_get_their_own_check_run(gate: Gate) -> None:
    pull = gate.repo.open_pull(51, {"canon/new.md": "---\ntitle: x\nstatus: nonsense\n---\n"})
    problem = StructureProblem(path="canon/new.md", line=3, rule="unknown-status", message="bad")
    check = await audit(gate, pull, [], structure=None)
    # A report whose structural check did not run: posted all the same, never stalling a merge.
    [unchecked] = gate.check_runs("canon-gate/structure")
    assert (unchecked.conclusion, unchecked.output["title"]) == (
        "neutral",
        "Canon structure: no canon changed",
    )
    gate.repo.push(pull, {"canon/new.md": "---\ntitle: y\nstatus: nonsense\n---\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "synchronize")
    assert await gate.deliver("pull_request", payload) == 200
    [active] = [c for c in gate.check_runs() if c.status != "completed"]
    [run] = gate.runs_for(active.id)
    report = report_for(run).model_copy(update={"structure": [problem]})
    done = gate.fake.complete_run(gate.repo, run.id, "success", artifact(report))
    assert await gate.deliver("workflow_run", done) == 200
    structure = max(gate.check_runs("canon-gate/structure"), key=lambda c: c.id)
    assert structure.conclusion == "failure"
    assert [(a["path"], a["start_line"]) for a in structure.annotations] == [("canon/new.md", 3)]
    assert check.conclusion == "success"
    assert gate.repo.check_runs[active.id].conclusion == "success"  # it never replaces the verdict


@pytest.mark.parametrize("slug_configured", [True, False])
async def test_the_lifecycle_comment_is_posted_once_and_updated_in_place(
    start_gate: StartGate, slug_configured: bool
) -> None:
    # Without GITHUB_APP_SLUG the App asks GitHub for its slug to find its own comment.
    gate = await start_gate(**({} if slug_configured else {"github_app_slug": None}))
    gate.repo.commit("main", {".github/canon-gate.yml": "comment: true\n"}, "comment on")
    pull = gate.repo.open_pull(52, {"docs/guide.md": "v1\n"})
    hostile = finding(claim="@everyone look <img src=x> | broken")
    await audit(gate, pull, [hostile])
    [first] = [c for c in gate.repo.comments.values() if c.issue_number == 52 and c.app_id]
    assert "<!-- canon-gate:lifecycle -->" in first.body
    assert "@everyone" not in first.body
    assert "<img" not in first.body
    gate.repo.push(pull, {"docs/guide.md": "v2\n"})
    await audit(gate, pull, [])
    mine = [c for c in gate.repo.comments.values() if c.issue_number == 52 and c.app_id]
    assert [c.id for c in mine] == [first.id]
    assert "Resolved" in mine[0].body


async def test_a_redelivered_waiver_is_recorded_and_answered_once(
    gate: Gate, start_gate: StartGate
) -> None:
    pull = gate.repo.open_pull(53, {"docs/guide.md": "x\n"})
    blocking = finding()
    await audit(gate, pull, [blocking])
    payload = gate.fake.payloads.issue_comment(
        gate.repo, 53, f"/canon-gate waive {blocking.id} known", user="maintainer"
    )
    assert await gate.deliver("issue_comment", payload, delivery_id="waive-guid") == 200
    await start_gate()
    assert await gate.deliver("issue_comment", payload, delivery_id="waive-guid") == 200
    waivers = [p for p in ledger_files(gate) if p.startswith("prs/53/waivers/")]
    assert len(waivers) == 1
    assert [r.conclusion for r in gate.check_runs()] == ["failure", "success"]
    assert len(replies(gate, 53)) == 1
