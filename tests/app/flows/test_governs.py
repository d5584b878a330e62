"""A verdict stands only for the head it judged and the governance key of the PR's base now.

Issue 9, defects 1, 3 and 10, through the front door: retargeting, two PRs with one head, a
manual run governed by an old base, and a failed workflow run that uploaded a report.
"""

from __future__ import annotations

from typing import Any

from appkit import ROOT, Gate, artifact, finding, report_for
from fakes.github import Pull

from tests.app.flows.test_governance import audit

LAX = ".github/canon-gate.yml"
RULE = "---\nuri: klappy://canon/new-rule\ntitle: New rule\nstatus: active\n---\nNew.\n"


def lax_branch(gate: Gate) -> str:
    """A branch whose config audits nothing: a PR judged there would pass anything."""
    return gate.repo.commit("lax", {LAX: "audit:\n  paths: ['none/**']\n"}, "lax rules")


async def retarget(gate: Gate, pull: Any, base: str) -> int:
    old = pull.base_ref
    pull.base_ref = base
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "edited")
    payload["changes"] = {"base": {"ref": {"from": old}, "sha": {"from": gate.repo.head(old)}}}
    return await gate.deliver("pull_request", payload)


def newest_on(gate: Gate, sha: str) -> Any:
    return max((c for c in gate.check_runs() if c.head_sha == sha), key=lambda c: c.id)


async def test_a_retargeted_pr_is_judged_again_under_its_new_base(gate: Gate) -> None:
    lax_branch(gate)
    pull = gate.repo.open_pull(80, {"docs/guide.md": "x\n"}, base="lax")
    passed = await audit(gate, pull, [])
    assert passed.conclusion == "success"
    sessions = len(gate.repo.runs)
    assert await retarget(gate, pull, "main") == 200
    # main's canon must run: a new audit, and the lax success is no longer the newest run.
    assert len(gate.repo.runs) == sessions + 1
    newest = newest_on(gate, pull.head_sha)
    assert newest.id != passed.id
    assert newest.status != "completed"
    [run] = gate.runs_for(newest.id)
    assert run.inputs["base_sha"] == gate.repo.head("main")


async def test_an_edit_that_keeps_the_base_starts_nothing(gate: Gate) -> None:
    pull = gate.repo.open_pull(81, {"docs/guide.md": "x\n"})
    await audit(gate, pull, [])
    sessions = len(gate.repo.runs)
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "edited")
    payload["changes"] = {"title": {"from": "Old title"}}
    assert await gate.deliver("pull_request", payload) == 200
    assert len(gate.repo.runs) == sessions


async def test_a_second_pr_with_the_same_head_into_another_base_is_audited(gate: Gate) -> None:
    lax_branch(gate)
    first = gate.repo.open_pull(82, {"docs/guide.md": "x\n"}, base="lax")
    passed = await audit(gate, first, [])
    assert passed.conclusion == "success"
    # The same branch, proposed to main as well.
    second = Pull(83, first.head_ref, "main", first.head_sha, "alice")
    gate.repo.pulls[83] = second
    gate.repo.issues.add(83)
    payload = gate.fake.payloads.pull_request(gate.repo, second, "opened")
    assert await gate.deliver("pull_request", payload) == 200
    # PR 83 into main gets its own audit: PR 82's lax verdict says nothing about main.
    assert gate.runs_for_pr(83)
    assert newest_on(gate, second.head_sha).conclusion != "success"


async def test_a_manual_run_governed_by_an_old_base_is_not_evaluated(gate: Gate) -> None:
    old_base = gate.repo.head("main")
    pull = gate.repo.open_pull(84, {"docs/guide.md": "x\n"})
    # A rule lands on main after the writer's chosen base.
    gate.repo.commit(
        "main", {"canon/new-rule.md": "---\nuri: x\ntitle: New\nstatus: active\n---\n"}
    )
    run = gate.fake.start_run(gate.repo, inputs={"pr": "84", "base_sha": old_base})
    report = report_for(run, head_sha=pull.head_sha, base_sha=old_base)
    done = gate.fake.complete_run(gate.repo, run.id, "success", artifact(report))
    assert await gate.deliver("workflow_run", done) == 200
    [check] = gate.check_runs()
    assert check.conclusion == "failure"
    assert check.output["title"].startswith("Not evaluated: the manual run was governed by")


async def test_a_manual_run_of_an_old_base_that_governs_the_same_still_judges(gate: Gate) -> None:
    old_base = gate.repo.head("main")
    pull = gate.repo.open_pull(85, {"docs/guide.md": "x\n"})
    gate.repo.commit("main", {"src/unrelated.py": "x = 1\n"})  # main moved; nothing governing
    run = gate.fake.start_run(gate.repo, inputs={"pr": "85", "base_sha": old_base})
    report = report_for(run, head_sha=pull.head_sha, base_sha=old_base, findings=[finding()])
    done = gate.fake.complete_run(gate.repo, run.id, "success", artifact(report))
    assert await gate.deliver("workflow_run", done) == 200
    [check] = gate.check_runs()
    assert check.output["title"].startswith("1 substantive finding")


async def test_a_manual_run_of_an_old_head_is_not_evaluated(gate: Gate) -> None:
    pull = gate.repo.open_pull(86, {"docs/guide.md": "x\n"})
    old_head = pull.head_sha
    gate.repo.push(pull, {"docs/guide.md": "y\n"})
    run = gate.fake.start_run(gate.repo, inputs={"pr": "86"})
    report = report_for(run, head_sha=old_head, base_sha=gate.repo.head("main"))
    done = gate.fake.complete_run(gate.repo, run.id, "success", artifact(report))
    assert await gate.deliver("workflow_run", done) == 200
    [check] = gate.check_runs()
    assert check.conclusion == "failure"
    assert "not the pull request's current head" in check.output["title"]


async def test_a_failed_workflow_run_never_judges_even_with_a_report(gate: Gate) -> None:
    pull = gate.repo.open_pull(87, {"docs/guide.md": "x\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload) == 200
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    # A clean report was uploaded (say, a stale report.json), but the job itself failed.
    done = gate.fake.complete_run(gate.repo, run.id, "failure", artifact(report_for(run)))
    assert await gate.deliver("workflow_run", done) == 200
    concluded = gate.repo.check_runs[check.id]
    assert concluded.conclusion == "failure"
    assert concluded.output["title"].startswith("Not evaluated: the audit job failed")


async def test_canon_that_changed_during_the_audit_never_passes(gate: Gate) -> None:
    pull = gate.repo.open_pull(88, {"docs/guide.md": "x\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload) == 200
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    gate.repo.commit(
        "main", {"canon/late.md": "---\nuri: late\ntitle: Late\nstatus: active\n---\n"}
    )
    done = gate.fake.complete_run(gate.repo, run.id, "success", artifact(report_for(run)))
    assert await gate.deliver("workflow_run", done) == 200
    concluded = gate.repo.check_runs[check.id]
    assert concluded.conclusion != "success"
    assert "what governs the pull request changed" in concluded.output["title"]


async def test_the_newest_run_on_a_shared_head_is_the_conjunction_of_its_prs(gate: Gate) -> None:
    lax_branch(gate)
    into_lax = gate.repo.open_pull(89, {"docs/guide.md": "x\n"}, base="lax")
    into_main = Pull(90, into_lax.head_ref, "main", into_lax.head_sha, "alice")
    gate.repo.pulls[90] = into_main
    gate.repo.issues.add(90)
    failed = await audit(gate, into_main, [finding()])
    assert failed.conclusion == "failure"
    # PR 89's lax audit finishes last: alone, its success would be the newest run on the head.
    passed = await audit(gate, into_lax, [])
    assert passed.conclusion == "success"
    newest = newest_on(gate, into_lax.head_sha)
    assert newest.id > passed.id
    assert newest.conclusion == "failure"
    assert "#90" in newest.output["summary"]
    # Redelivering the completion posts no second combined run.
    before = len(gate.check_runs())
    [run] = gate.runs_for(passed.id)
    assert (
        await gate.deliver(
            "workflow_run", gate.fake.complete_run(gate.repo, run.id, "success", None)
        )
        == 200
    )
    assert len(gate.check_runs()) == before


DISPATCH = "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"


async def test_the_app_dispatches_the_default_branch_by_its_full_name(gate: Gate) -> None:
    pull = gate.repo.open_pull(91, {"docs/guide.md": "x\n"})
    opened = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", opened) == 200
    [call] = gate.fake.calls_to(*DISPATCH.split(" "))
    assert call.json["ref"] == "refs/heads/main"  # never a tag that happens to be named main


async def test_a_manual_run_from_a_tag_named_like_the_default_branch_never_judges(
    gate: Gate,
) -> None:
    pull = gate.repo.open_pull(92, {"docs/guide.md": "x\n"})
    # A writer makes a tag `main` on a commit whose workflow uploads whatever it likes.
    edited = (ROOT / "workflows" / "canon-gate.yml").read_text() + "\n# uploads a forged report\n"
    forged = gate.repo.commit("tag-work", {".github/workflows/canon-gate.yml": edited})
    gate.repo.refs["refs/tags/main"] = forged
    run = gate.fake.start_run(gate.repo, ref="refs/tags/main", inputs={"pr": "92"})
    assert run.head_branch == "main"
    assert run.head_sha == forged
    report = report_for(run, head_sha=pull.head_sha, base_sha=gate.repo.head("main"))
    done = gate.fake.complete_run(gate.repo, run.id, "success", artifact(report))
    assert await gate.deliver("workflow_run", done) == 200
    assert gate.check_runs() == []  # nothing was concluded, or even created, from it


async def test_without_run_details_a_run_on_the_default_branch_still_judges(gate: Gate) -> None:
    # An older GitHub Enterprise Server refuses `return_run_details`: the App asks again without.
    refusal = '{"message": "Invalid request: \\"return_run_details\\" is not a permitted key."}'
    gate.fake.inject(DISPATCH, 422, body=refusal, headers={"content-type": "application/json"})
    pull = gate.repo.open_pull(93, {"docs/guide.md": "x\n"})
    opened = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", opened) == 200
    [check] = gate.check_runs()
    assert check.status == "in_progress"
    assert not check.details_url
    [run] = gate.runs_for(check.id)
    done = gate.fake.complete_run(gate.repo, run.id, "success", artifact(report_for(run)))
    assert await gate.deliver("workflow_run", done) == 200
    assert gate.repo.check_runs[check.id].conclusion == "success"


async def test_a_replayed_rerun_request_under_fresh_delivery_ids_starts_one_session(
    gate: Gate,
) -> None:
    pull = gate.repo.open_pull(94, {"docs/guide.md": "x\n"})
    first = await audit(gate, pull, [finding()])
    sessions = len(gate.repo.runs)
    rerequest = gate.fake.payloads.check_run(gate.repo, first.id, "rerequested")
    # A captured, signed body replayed three times: each delivery id is new, the request is not.
    for delivery in ("replay-1", "replay-2", "replay-3"):
        assert await gate.deliver("check_run", rerequest, delivery_id=delivery) == 200
    assert len(gate.repo.runs) == sessions + 1


async def test_a_head_stops_starting_sessions_at_its_limit(gate: Gate) -> None:
    gate.repo.commit("main", {LAX: "limits:\n  sessions_per_head: 2\n"}, "tight limit")
    pull = gate.repo.open_pull(95, {"docs/guide.md": "x\n"})
    first = await audit(gate, pull, [finding()])
    button = gate.fake.payloads.check_run(gate.repo, first.id, "requested_action", "rerun")
    assert await gate.deliver("check_run", button) == 200
    assert len(gate.runs_for_pr(95)) == 2
    second = newest_on(gate, pull.head_sha)
    again = gate.fake.payloads.check_run(gate.repo, second.id, "requested_action", "rerun")
    assert await gate.deliver("check_run", again) == 200
    assert len(gate.runs_for_pr(95)) == 2  # no third paid session
    refused = newest_on(gate, pull.head_sha)
    assert refused.conclusion == "action_required"
    assert "sessions_per_head" in refused.output["summary"]


async def test_a_replayed_rerun_all_checks_starts_one_session(gate: Gate) -> None:
    pull = gate.repo.open_pull(96, {"docs/guide.md": "x\n"})
    await audit(gate, pull, [finding()])
    sessions = len(gate.repo.runs)
    suite = gate.fake.payloads.check_suite(gate.repo, pull.head_sha, "rerequested")
    for delivery in ("suite-replay-1", "suite-replay-2"):
        assert await gate.deliver("check_suite", suite, delivery_id=delivery) == 200
    assert len(gate.repo.runs) == sessions + 1
    # A new request (a new press of "Re-run all checks") is a new re-run.
    gate.fake.clock.offset += 5
    again = gate.fake.payloads.check_suite(gate.repo, pull.head_sha, "rerequested")
    again["check_suite"]["id"] = suite["check_suite"]["id"]
    assert await gate.deliver("check_suite", again) == 200
    assert len(gate.repo.runs) == sessions + 2
