"""Merge queues through the front door (issue 12): the real `merge_group` example payloads, signed
and POSTed; a group gets `canon-gate`, each gate's run and `canon-gate/structure` on its own head,
and every path concludes them.
"""

from __future__ import annotations

from typing import Any

import pytest
from appkit import Gate, artifact, finding, report_for
from fakes.github.state import MergeGroup

from action.report import artifact_name
from app.judge.checkrun import CHECK_NAME, STRUCTURE_CHECK_NAME
from app.judge.correlate import parse_external_id
from app.ledger.store import BRANCH
from tests.app.flows.test_gates import GATES, JOBS_OK, structure
from tests.app.flows.test_governance import comment, ledger_files

DISPATCH = "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"
CANCEL = "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel"


def configure(gate: Gate, text: str) -> None:
    gate.repo.commit("main", {".github/canon-gate.yml": text}, "config")


async def audited(gate: Gate, number: int, findings: list[Any] | None = None) -> Any:
    """Open a PR and finish its audit with a report (passing without `findings`)."""
    pull = gate.repo.open_pull(number, {"docs/guide.md": f"# Guide {number}\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload) == 200
    [check] = [c for c in gate.check_runs() if c.head_sha == pull.head_sha]
    [run] = gate.runs_for(check.id)
    done = gate.fake.complete_run(
        gate.repo, run.id, "success", artifact(report_for(run, findings=findings))
    )
    assert await gate.deliver("workflow_run", done) == 200
    return pull


async def requested(gate: Gate, group: MergeGroup, delivery_id: str | None = None) -> None:
    payload = gate.fake.payloads.merge_group(gate.repo, group, "checks_requested")
    assert await gate.deliver("merge_group", payload, delivery_id=delivery_id) == 200


def on_group(gate: Gate, group: MergeGroup) -> dict[str, Any]:
    """The newest run of each name on the group's head."""
    runs = sorted(
        (r for r in gate.repo.check_runs.values() if r.head_sha == group.head_sha),
        key=lambda r: r.id,
    )
    return {r.name: r for r in runs}


def group_run(gate: Gate, group: MergeGroup) -> Any:
    [run] = [r for r in gate.repo.runs.values() if r.inputs.get("group") == group.head_ref]
    return run


async def finish(gate: Gate, run: Any, findings: list[Any] | None = None) -> None:
    report = report_for(run, findings=findings)
    done = gate.fake.complete_run(gate.repo, run.id, "success", artifact(report))
    assert await gate.deliver("workflow_run", done) == 200


async def test_a_group_whose_pr_passed_reuses_its_verdict_without_a_session(gate: Gate) -> None:
    pull = await audited(gate, 101)
    [verdict] = [c for c in gate.check_runs() if c.head_sha == pull.head_sha]
    sessions = len(gate.repo.runs)
    gate.repo.commit("main", {"README.md": "# Handbook, moved on\n"}, "no canon change")
    group = gate.repo.enqueue(gate.repo.pulls[101])
    await requested(gate, group)

    assert len(gate.repo.runs) == sessions  # no dispatch
    checks = on_group(gate, group)
    assert {n: c.conclusion for n, c in checks.items()} == {
        CHECK_NAME: "success",
        STRUCTURE_CHECK_NAME: "neutral",  # the PR changes no canon: nothing to check
    }
    summary = checks[CHECK_NAME].output["summary"]
    assert checks[CHECK_NAME].output["title"].startswith("Reused from #101")
    assert f"/runs/{verdict.id}" in summary  # the reused check run
    [record] = [p for p in ledger_files(gate) if p.startswith("prs/101/audits/")]
    assert f"/blob/{BRANCH}/{record}" in summary  # and its ledger record
    key = parse_external_id(checks[CHECK_NAME].external_id)
    assert key is not None
    assert (key.pr, key.group, key.base_sha) == (101, group.head_ref, group.base_sha)

    # A redelivery (or another replica) posts nothing twice.
    await requested(gate, group)
    assert len(on_group(gate, group)) == 2
    assert len([r for r in gate.repo.check_runs.values() if r.head_sha == group.head_sha]) == 2


async def test_with_gates_each_gate_and_the_aggregate_are_reused(gate: Gate) -> None:
    configure(gate, GATES)
    pull = gate.repo.open_pull(102, {"docs/guide.md": "x\n", "src/app.py": "y\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload) == 200
    [anchor] = gate.check_runs()
    [run] = gate.runs_for(anchor.id)
    reports = {
        "structure": structure(run),
        "code-sync": report_for(run, gate="code-sync"),
        "gauntlet": report_for(run, gate="gauntlet"),
    }
    zips = {artifact_name(name): artifact(r) for name, r in reports.items()}
    done = gate.fake.complete_run(gate.repo, run.id, "success", artifacts=zips, jobs=JOBS_OK)
    assert await gate.deliver("workflow_run", done) == 200
    sessions = len(gate.repo.runs)

    group = gate.repo.enqueue(pull)
    await requested(gate, group)
    assert len(gate.repo.runs) == sessions
    checks = on_group(gate, group)
    assert {n: c.conclusion for n, c in checks.items()} == {
        CHECK_NAME: "success",
        "canon-gate/code-sync": "success",
        "canon-gate/gauntlet": "success",
        STRUCTURE_CHECK_NAME: "success",
    }
    assert checks[CHECK_NAME].output["title"] == "2 gates passed"
    assert "Reused from pull request \\#102" in checks[CHECK_NAME].output["summary"]


@pytest.mark.parametrize("why", ["failed", "never audited", "canon changed"])
async def test_otherwise_the_group_is_audited_and_concluded_from_its_report(
    gate: Gate, why: str
) -> None:
    if why == "never audited":
        pull = gate.repo.open_pull(103, {"docs/guide.md": "# Guide\n"})
    else:
        pull = await audited(gate, 103, [finding()] if why == "failed" else None)
    if why == "canon changed":
        gate.repo.commit("main", {"canon/new.md": "---\nuri: x\ntitle: y\n---\n"}, "canon")
    group = gate.repo.enqueue(pull)
    await requested(gate, group)

    run = group_run(gate, group)
    # The group's own change: its head against its base, for the PR it adds.
    assert (run.inputs["pr"], run.inputs["head_sha"], run.inputs["base_sha"]) == (
        "103",
        group.head_sha,
        group.base_sha,
    )
    waiting = on_group(gate, group)
    assert {n: c.status for n, c in waiting.items()} == {
        CHECK_NAME: "in_progress",
        STRUCTURE_CHECK_NAME: "in_progress",
    }
    await finish(gate, run)
    checks = on_group(gate, group)
    assert {n: c.conclusion for n, c in checks.items()} == {
        CHECK_NAME: "success",
        STRUCTURE_CHECK_NAME: "neutral",
    }
    # Its record is the PR's, in a folder of its own: the PR's own audits are untouched.
    files = ledger_files(gate)
    [record] = [v for p, v in files.items() if p.startswith("prs/103/groups/")]
    assert (record["group"], record["head_sha"]) == (group.head_ref, group.head_sha)
    head = gate.repo.store.commits[gate.repo.head(BRANCH)]
    assert head.message.startswith("canon-gate: PR #103 merge group @ ")


async def test_audit_mode_audits_every_group_and_applies_the_prs_waivers(gate: Gate) -> None:
    configure(gate, "merge_queue: audit\n")
    blocking = finding()
    pull = await audited(gate, 104, [blocking])
    assert await comment(gate, pull, f"/canon-gate waive {blocking.id} historical") == 200
    assert gate.check_runs()[-1].conclusion == "success"  # the PR passes, waiver included
    group = gate.repo.enqueue(pull)
    await requested(gate, group)
    run = group_run(gate, group)  # audited although the PR passed
    await finish(gate, run, [blocking])
    verdict = on_group(gate, group)[CHECK_NAME]
    # The same finding on the group's change is waived by fingerprint, or the queue would
    # block it forever.
    assert verdict.conclusion == "success", verdict.output
    assert "Waived" in verdict.output["summary"]
    # The group's verdict never comments on the PR: its lifecycle comment is the PR's.
    assert not [c for c in gate.repo.comments.values() if c.app_id and "merge group" in c.body]


async def test_redelivered_checks_requested_makes_one_run(gate: Gate) -> None:
    pull = gate.repo.open_pull(105, {"docs/guide.md": "# Guide\n"})
    group = gate.repo.enqueue(pull)
    await requested(gate, group, delivery_id="mg-1")
    await requested(gate, group, delivery_id="mg-1")
    await requested(gate, group, delivery_id="mg-2")
    assert len(gate.runs_for_pr(105)) == 1
    assert len([c for c in gate.check_runs() if c.head_sha == group.head_sha]) == 1


async def test_destroyed_while_the_audit_runs_cancels_it_and_concludes_not_success(
    gate: Gate,
) -> None:
    pull = gate.repo.open_pull(106, {"docs/guide.md": "# Guide\n"})
    group = gate.repo.enqueue(pull)
    await requested(gate, group)
    run = group_run(gate, group)
    gate.repo.dequeue(group)
    sessions = len(gate.repo.runs)
    payload = gate.fake.payloads.merge_group(gate.repo, group, "destroyed", reason="dequeued")
    assert await gate.deliver("merge_group", payload) == 200

    assert (run.status, run.conclusion) == ("completed", "cancelled")
    [cancel] = gate.fake.calls_to("POST", CANCEL)
    assert cancel.path.endswith(f"/{run.id}/cancel")
    checks = on_group(gate, group)
    assert {n: c.conclusion for n, c in checks.items()} == {
        CHECK_NAME: "cancelled",
        STRUCTURE_CHECK_NAME: "cancelled",
    }
    assert "left the queue" in checks[CHECK_NAME].output["title"]
    assert len(gate.repo.runs) == sessions  # nothing new started
    # The cancelled run's completion changes nothing; Re-run on a destroyed group starts nothing.
    done = gate.fake.payloads.workflow_run(gate.repo, run.id, "completed")
    assert await gate.deliver("workflow_run", done) == 200
    assert on_group(gate, group)[CHECK_NAME].conclusion == "cancelled"
    again = gate.fake.payloads.check_run(gate.repo, checks[CHECK_NAME].id, "rerequested")
    assert await gate.deliver("check_run", again) == 200
    assert len(gate.repo.runs) == sessions


async def test_a_refused_dispatch_concludes_every_group_check(gate: Gate) -> None:
    gate.repo.commit("main", {".github/workflows/canon-gate.yml": None}, "remove workflow")
    pull = gate.repo.open_pull(107, {"docs/guide.md": "# Guide\n"})
    group = gate.repo.enqueue(pull)
    await requested(gate, group)
    checks = on_group(gate, group)
    assert {n: c.conclusion for n, c in checks.items()} == {
        CHECK_NAME: "action_required",
        STRUCTURE_CHECK_NAME: "action_required",
    }
    assert "canon-gate init" in checks[CHECK_NAME].output["summary"]


async def test_a_rate_limited_dispatch_concludes_at_once(gate: Gate) -> None:
    # Past the delivery's budget: no retry inside it, and no replay the queue could wait for.
    gate.fake.inject(DISPATCH, 429, headers={"retry-after": "3600"})
    pull = gate.repo.open_pull(108, {"docs/guide.md": "# Guide\n"})
    group = gate.repo.enqueue(pull)
    await requested(gate, group)
    checks = on_group(gate, group)
    assert {n: c.conclusion for n, c in checks.items()} == {
        CHECK_NAME: "failure",
        STRUCTURE_CHECK_NAME: "failure",
    }
    assert checks[CHECK_NAME].output["title"].startswith("Not evaluated: GitHub did not let")
    assert [a["identifier"] for a in checks[CHECK_NAME].actions] == ["rerun"]
    # Re-run while the group exists: the group is audited again.
    again = gate.fake.payloads.check_run(gate.repo, checks[CHECK_NAME].id, "rerequested")
    assert await gate.deliver("check_run", again) == 200
    assert group_run(gate, group).inputs["group"] == group.head_ref


async def test_a_group_that_names_no_pr_is_concluded_action_required(gate: Gate) -> None:
    pull = gate.repo.open_pull(109, {"docs/guide.md": "# Guide\n"})
    group = gate.repo.enqueue(pull)
    odd = MergeGroup("refs/heads/some-other-queue", group.head_sha, group.base_sha, group.base_ref)
    await requested(gate, odd)
    checks = on_group(gate, group)
    assert {n: c.conclusion for n, c in checks.items()} == {
        CHECK_NAME: "action_required",
        STRUCTURE_CHECK_NAME: "action_required",
    }
    assert not gate.repo.runs


async def test_an_installation_without_merge_group_fails_the_groups_checks_visibly(
    gate: Gate,
) -> None:
    pull = gate.repo.open_pull(110, {"docs/guide.md": "# Guide\n"})
    group = gate.repo.enqueue(pull)
    branch = group.head_ref.removeprefix("refs/heads/")
    suite = gate.fake.payloads.check_suite(gate.repo, group.head_sha, head_branch=branch)
    app = gate.fake.apps[gate.fake.app_id]

    # Granted: `merge_group.checks_requested` does the work; the suite changes nothing.
    app.events = ["merge_group", "push"]
    assert await gate.deliver("check_suite", suite) == 200
    assert on_group(gate, group) == {}

    app.events = []
    app.permissions.pop("merge_queues")
    assert await gate.deliver("check_suite", suite) == 200
    checks = on_group(gate, group)
    assert {n: c.conclusion for n, c in checks.items()} == {
        CHECK_NAME: "action_required",
        STRUCTURE_CHECK_NAME: "action_required",
    }
    summary = checks[CHECK_NAME].output["summary"]
    assert "Merge queues repository permission" in summary
    assert "`merge_group` event" in summary
    assert f"/settings/installations/{gate.repo.installation_id}" in summary
