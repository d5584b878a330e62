"""Every check canon-gate offers as requirable is always posted (issue 12, item 2): a ruleset that
requires `canon-gate/structure` never stalls a pull request that changes no canon.
"""

from __future__ import annotations

from typing import Any

from appkit import Gate, artifact, report_for

from action.report import artifact_name
from app.judge.checkrun import CHECK_NAME, STRUCTURE_CHECK_NAME
from tests.app.flows.test_gates import configure, finish, named, newest, opened, structure
from tests.app.flows.test_merge_queue import on_group


async def open_pr(gate: Gate, number: int) -> tuple[Any, Any]:
    pull = gate.repo.open_pull(number, {"docs/guide.md": "# Guide\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload) == 200
    [check] = [c for c in gate.check_runs() if c.head_sha == pull.head_sha]
    return pull, check


async def test_structure_waits_from_the_start_and_concludes_on_a_pr_that_changes_no_canon(
    gate: Gate,
) -> None:
    pull, check = await open_pr(gate, 120)
    [waiting] = gate.check_runs(STRUCTURE_CHECK_NAME)
    assert (waiting.head_sha, waiting.status) == (pull.head_sha, "in_progress")
    [run] = gate.runs_for(check.id)
    assert waiting.details_url == f"https://github.com/{gate.repo.full_name}/actions/runs/{run.id}"
    # The plan job's structure report: the structural check had nothing to check.
    reports = {"structure": report_for(run, gate="structure"), "canon-gate": report_for(run)}
    zips = {artifact_name(name): artifact(r) for name, r in reports.items()}
    done = gate.fake.complete_run(gate.repo, run.id, "success", artifacts=zips)
    assert await gate.deliver("workflow_run", done) == 200
    [concluded] = gate.check_runs(STRUCTURE_CHECK_NAME)  # the same run, concluded
    assert (concluded.id, concluded.conclusion) == (waiting.id, "neutral")
    assert concluded.output["title"] == "Canon structure: no canon changed"


async def test_an_audit_that_ends_without_a_report_never_leaves_structure_waiting(
    gate: Gate,
) -> None:
    _, check = await open_pr(gate, 121)
    [run] = gate.runs_for(check.id)
    done = gate.fake.complete_run(gate.repo, run.id, "failure")
    assert await gate.deliver("workflow_run", done) == 200
    [concluded] = gate.check_runs(STRUCTURE_CHECK_NAME)
    assert concluded.conclusion == "failure"  # the audit's outcome: never a pass
    assert concluded.output["title"].startswith("Canon structure not checked")


async def test_with_gates_a_failed_plan_job_concludes_structure_with_the_audits_outcome(
    gate: Gate,
) -> None:
    configure(gate)
    _, run = await opened(gate, 122)
    [waiting] = named(gate, STRUCTURE_CHECK_NAME)
    assert waiting.status == "in_progress"
    jobs = {"plan": "failure", "gate code-sync": "skipped", "gate gauntlet": "skipped"}
    await finish(gate, run, {}, jobs)
    assert newest(gate, CHECK_NAME).conclusion == "failure"
    concluded = newest(gate, STRUCTURE_CHECK_NAME)
    assert concluded.id == waiting.id
    assert concluded.conclusion == "failure"
    assert "uploaded no structure report" in concluded.output["title"]


async def test_with_gates_a_structure_report_concludes_it(gate: Gate) -> None:
    configure(gate)
    _, run = await opened(gate, 123)
    await finish(
        gate,
        run,
        {
            "structure": structure(run),
            "code-sync": report_for(run, gate="code-sync"),
            "gauntlet": report_for(run, gate="gauntlet"),
        },
    )
    [concluded] = named(gate, STRUCTURE_CHECK_NAME)
    assert concluded.conclusion == "success"


async def test_a_refused_dispatch_concludes_structure_too(gate: Gate) -> None:
    gate.repo.commit("main", {".github/workflows/canon-gate.yml": None}, "remove workflow")
    await open_pr(gate, 124)
    [concluded] = gate.check_runs(STRUCTURE_CHECK_NAME)
    assert concluded.conclusion == "action_required"


async def test_a_merge_group_gets_structure_too(gate: Gate) -> None:
    pull = gate.repo.open_pull(125, {"canon/audit-gates.md": "---\nuri: x\n---\n# Changed\n"})
    group = gate.repo.enqueue(pull)
    payload = gate.fake.payloads.merge_group(gate.repo, group, "checks_requested")
    assert await gate.deliver("merge_group", payload) == 200
    assert on_group(gate, group)[STRUCTURE_CHECK_NAME].status == "in_progress"
