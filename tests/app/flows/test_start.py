"""Audit start and completion, end to end: signed webhooks in, GitHub calls out."""

from __future__ import annotations

from typing import Any

import pytest
from appkit import REPO_ID, Gate, StartGate, artifact, finding, report_for

from action.report import SCHEMA_VERSION, Classification, ErrorKind, Kind
from app.edge.auth import START_AUDIT


async def open_pr(gate: Gate, number: int = 12, *, draft: bool = False) -> Any:
    pull = gate.repo.open_pull(
        number, {"docs/guide.md": "# Guide\nA regex gates merges.\n"}, draft=draft
    )
    status = await gate.deliver(
        "pull_request", gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    )
    assert status == 200
    return pull


async def complete(gate: Gate, run: Any, report: Any = None, conclusion: str = "success") -> int:
    raw_zip = isinstance(report, bytes) and report.startswith(b"PK")
    blob = report if raw_zip else artifact(report) if report is not None else None
    payload = gate.fake.complete_run(gate.repo, run.id, conclusion, blob)
    return await gate.deliver("workflow_run", payload)


async def test_a_pr_opens_a_check_run_and_dispatches_the_workflow_on_the_default_branch(
    gate: Gate,
) -> None:
    pull = await open_pr(gate)
    [check] = gate.check_runs()
    assert check.head_sha == pull.head_sha
    assert check.status == "in_progress"
    assert check.external_id.startswith("canon-gate:v1:pr=12:")
    [run] = gate.runs_for(check.id)
    assert run.inputs.pop("group", "") == ""  # no merge group (the workflow's default)
    assert run.inputs == {
        "pr": "12",
        "head_sha": pull.head_sha,
        "base_sha": gate.repo.head("main"),
        "check_run_id": str(check.id),
        "approved": "false",  # the workflow's default: an automatic trigger approves nothing
        "gate": "",  # every gate
    }
    assert run.head_sha == gate.repo.head("main")  # the default branch judges, not the PR
    # The run the App dispatched, exactly as GitHub gave it (`return_run_details`).
    assert check.details_url == f"https://github.com/{gate.repo.full_name}/actions/runs/{run.id}"
    assert f"/actions/runs/{run.id}" in check.details_url
    # The token was narrowed to this repository and this step's permissions.
    [mint] = gate.fake.calls_to("POST", "/app/installations/{installation_id}/access_tokens")
    assert mint.json == {"repository_ids": [REPO_ID], "permissions": dict(START_AUDIT)}
    # What governs the base, an existence check, the create, the dispatch, then in_progress.
    routes = [(c.method, c.route) for c in gate.fake.calls if c.auth == "installation"]
    assert routes == [
        # What governs the base: the config, the commit's tree, the canon folder's id.
        ("GET", "/repos/{owner}/{repo}/contents/{path}"),
        ("GET", "/repos/{owner}/{repo}/git/commits/{commit_sha}"),
        ("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}"),
        ("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
        # `canon-gate`, queued: the run the workflow is dispatched for.
        ("POST", "/repos/{owner}/{repo}/check-runs"),
        ("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"),
        # `canon-gate/structure`, made in progress at the workflow run in one call; then
        # `canon-gate` itself, last, since until then a failed start resumes from it.
        ("POST", "/repos/{owner}/{repo}/check-runs"),
        ("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ]
    [structure] = [c for c in gate.repo.check_runs.values() if c.name == "canon-gate/structure"]
    assert (structure.status, structure.details_url) == ("in_progress", check.details_url)


async def test_a_start_that_fails_after_its_companions_resumes_without_a_second_session(
    gate: Gate,
) -> None:
    # Dispatched, `canon-gate/structure` made, then marking `canon-gate` in progress fails.
    pull = gate.repo.open_pull(15, {"docs/guide.md": "x\n"})
    gate.fake.inject("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", 502)
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload, delivery_id="d-15") == 503
    [check] = gate.check_runs()
    [structure] = gate.check_runs("canon-gate/structure")
    assert (check.status, structure.status) == ("queued", "in_progress")
    # Redelivered: the queued anchor is resumed, the run dispatched before is found, and the
    # companion it made is kept.
    assert await gate.deliver("pull_request", payload, delivery_id="d-15") == 200
    assert gate.check_runs() == [check]
    assert gate.check_runs("canon-gate/structure") == [structure]
    [run] = gate.runs_for(check.id)
    assert check.status == structure.status == "in_progress"
    assert check.details_url == structure.details_url
    assert f"/actions/runs/{run.id}" in check.details_url


async def test_drafts_wait_until_ready_for_review(gate: Gate) -> None:
    pull = await open_pr(gate, 13, draft=True)
    assert gate.check_runs() == []
    assert gate.fake.calls == []
    pull.draft = False
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "ready_for_review")
    assert await gate.deliver("pull_request", payload) == 200
    assert len(gate.check_runs()) == 1


async def test_redelivery_and_restart_never_make_a_second_active_run(
    gate: Gate, start_gate: StartGate
) -> None:
    pull = gate.repo.open_pull(14, {"docs/guide.md": "x\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload, delivery_id="same") == 200
    assert await gate.deliver("pull_request", payload, delivery_id="same") == 200
    # A fresh App (a restart, or another replica) has no memory: GitHub is asked.
    await start_gate()
    assert await gate.deliver("pull_request", payload, delivery_id="same") == 200
    assert await gate.deliver("pull_request", payload, delivery_id="other") == 200
    reopened = gate.fake.payloads.pull_request(gate.repo, pull, "reopened")
    assert await gate.deliver("pull_request", reopened) == 200
    assert len(gate.check_runs()) == 1
    assert len(gate.repo.runs) == 1


async def test_a_newer_push_cancels_the_older_run(gate: Gate) -> None:
    pull = await open_pr(gate, 15)
    [old] = gate.check_runs()
    gate.repo.push(pull, {"docs/guide.md": "# Guide v2\n"})
    assert (
        await gate.deliver(
            "pull_request", gate.fake.payloads.pull_request(gate.repo, pull, "synchronize")
        )
        == 200
    )
    runs = {r.head_sha: r for r in gate.check_runs()}
    assert runs[old.head_sha].conclusion == "cancelled"
    assert runs[pull.head_sha].status == "in_progress"


async def test_a_missing_workflow_asks_for_action_with_exact_steps(gate: Gate) -> None:
    gate.repo.commit("main", {".github/workflows/canon-gate.yml": None}, "remove workflow")
    await open_pr(gate, 16)
    [check] = gate.check_runs()
    assert check.conclusion == "action_required"
    summary = check.output["summary"]
    assert "canon-gate init" in summary
    assert "CLAUDE_CODE_OAUTH_TOKEN" in summary
    assert [a["identifier"] for a in check.actions][:1] == ["rerun"]


async def test_substantive_findings_fail_with_annotations_substantive_first(gate: Gate) -> None:
    await open_pr(gate, 17)
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    cosmetic = finding(classification=Classification.COSMETIC, anchor="runtime", line=9)
    blocking = finding(line=2)
    assert await complete(gate, run, report_for(run, findings=[cosmetic, blocking])) == 200
    check = gate.repo.check_runs[check.id]
    assert check.conclusion == "failure"
    levels = [a["annotation_level"] for a in check.annotations]
    assert levels == ["failure", "warning"]
    assert blocking.id in check.output["summary"]
    assert "subscription" in check.output["summary"]


async def test_only_cosmetic_findings_succeed_with_annotations(gate: Gate) -> None:
    await open_pr(gate, 18)
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    cosmetic = finding(classification=Classification.COSMETIC, kind=Kind.OTHER)
    await complete(gate, run, report_for(run, findings=[cosmetic]))
    check = gate.repo.check_runs[check.id]
    assert (check.conclusion, len(check.annotations)) == ("success", 1)


async def test_120_findings_are_annotated_in_batches_of_50(gate: Gate) -> None:
    await open_pr(gate, 19)
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    many = [finding(anchor=f"quote {i}", line=i + 1) for i in range(120)]
    await complete(gate, run, report_for(run, findings=many))
    check = gate.repo.check_runs[check.id]
    assert len(check.annotations) == 120
    patches = gate.fake.calls_to("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
    mine = [c for c in patches if c.path.endswith(f"/{check.id}")]
    assert [len(c.json["output"].get("annotations", [])) for c in mine[-3:]] == [50, 50, 20]


async def fail_closed(gate: Gate, number: int, **kwargs: Any) -> Any:
    pull = await open_pr(gate, number)
    [check] = [c for c in gate.check_runs() if c.head_sha == pull.head_sha]
    [run] = gate.runs_for(check.id)
    report = kwargs.pop("report", None)
    if callable(report):
        report = report(run)
    await complete(gate, run, report, **kwargs)
    return gate.repo.check_runs[check.id]


@pytest.mark.parametrize(
    ("number", "conclusion", "said"),
    [
        (20, "failure", "failed"),
        # The workflow's timeout-minutes, and GitHub's own limit on queued runs, both end in a
        # workflow_run.completed: the check run is never left in progress.
        (33, "timed_out", "timed out"),
        (34, "cancelled", "cancelled"),
        (35, "startup_failure", "could not start"),
    ],
)
async def test_a_workflow_that_did_not_finish_is_not_evaluated(
    gate: Gate, number: int, conclusion: str, said: str
) -> None:
    check = await fail_closed(gate, number, conclusion=conclusion)
    assert check.conclusion == "failure"
    assert "Not evaluated" in check.output["title"]
    assert said in check.output["summary"]
    assert any(a["identifier"] == "rerun" for a in check.actions)


async def test_a_missing_artifact_is_not_evaluated(gate: Gate) -> None:
    check = await fail_closed(gate, 21)
    assert check.conclusion == "failure"
    assert "canon-gate-report" in check.output["summary"]


async def test_an_invalid_artifact_is_not_evaluated(gate: Gate) -> None:
    check = await fail_closed(gate, 22, report=b"{ not a report")
    assert check.conclusion == "failure"
    check = await fail_closed(
        gate, 23, report={"schema_version": SCHEMA_VERSION, "findings": [{"id": "x"}]}
    )
    assert check.conclusion == "failure"
    assert "findings contract" in check.output["summary"]


async def test_an_unknown_schema_version_names_the_action_version(gate: Gate) -> None:
    check = await fail_closed(gate, 24, report={"schema_version": 99})
    assert check.conclusion != "success"
    assert check.conclusion == "action_required"
    assert "v1" in check.output["summary"]


async def test_a_session_error_is_not_evaluated_never_success(gate: Gate) -> None:
    check = await fail_closed(
        gate, 25, report=lambda run: report_for(run, error="the session timed out")
    )
    assert check.conclusion == "failure"
    assert "timed out" in check.output["summary"]


async def test_a_report_for_another_check_run_is_refused(gate: Gate) -> None:
    check = await fail_closed(gate, 26, report=lambda run: report_for(run, head_sha="f" * 40))
    assert check.conclusion == "failure"


async def test_completion_is_idempotent(gate: Gate) -> None:
    await open_pr(gate, 27)
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    payload = gate.fake.complete_run(gate.repo, run.id, "success", artifact(report_for(run)))
    assert await gate.deliver("workflow_run", payload) == 200
    assert await gate.deliver("workflow_run", payload) == 200
    assert len(gate.repo.check_runs[check.id].annotations) == 0
    assert gate.repo.check_runs[check.id].conclusion == "success"


async def test_rerun_by_button_check_run_and_check_suite(gate: Gate) -> None:
    pull = await open_pr(gate, 28)
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    await complete(gate, run, report_for(run))
    payloads = [
        ("check_run", gate.fake.payloads.check_run(gate.repo, check.id, "rerequested")),
        (
            "check_run",
            gate.fake.payloads.check_run(gate.repo, check.id, "requested_action", "rerun"),
        ),
        ("check_suite", gate.fake.payloads.check_suite(gate.repo, pull.head_sha, "rerequested")),
    ]
    for event, payload in payloads:
        assert await gate.deliver(event, payload) == 200
    runs = gate.check_runs()
    assert len(runs) == 4
    # Each re-run replaced the one before: only the newest is active.
    assert [r.status for r in runs].count("in_progress") == 1
    assert all(r.inputs.get("approved") == "true" for r in list(gate.repo.runs.values())[1:])


async def test_a_manual_run_gets_a_check_run_on_the_pr_head(gate: Gate) -> None:
    pull = gate.repo.open_pull(29, {"docs/guide.md": "x\n"})
    run = gate.fake.start_run(gate.repo, inputs={"pr": "29"})
    assert run.head_sha == gate.repo.head("main")
    report = report_for(
        run, head_sha=pull.head_sha, base_sha=gate.repo.head("main"), findings=[finding()]
    )
    assert await complete(gate, run, report) == 200
    [check] = gate.check_runs()
    assert (check.head_sha, check.conclusion) == (pull.head_sha, "failure")
    assert check.output["title"].startswith("1 substantive finding")
    assert f"/actions/runs/{run.id}" in check.details_url


async def test_a_manual_run_may_not_choose_what_governs(gate: Gate) -> None:
    pull = gate.repo.open_pull(37, {"docs/guide.md": "x\n"})
    # A commit of the contributor's own branch, with a weakened config, posing as the base.
    weak = gate.repo.commit("feature-37", {".github/canon-gate.yml": "audit:\n  paths: []\n"})
    run = gate.fake.start_run(gate.repo, inputs={"pr": "37", "base_sha": weak})
    report = report_for(run, head_sha=pull.head_sha, base_sha=weak)
    assert await complete(gate, run, report) == 200
    [check] = gate.check_runs()
    assert check.conclusion == "failure"
    assert check.output["title"].startswith("Not evaluated")
    assert "differ from what governs the pull request's base" in check.output["summary"]


async def test_a_report_with_another_base_than_dispatched_is_refused(gate: Gate) -> None:
    check = await fail_closed(gate, 38, report=lambda run: report_for(run, base_sha="e" * 40))
    assert check.conclusion == "failure"
    assert check.output["title"].startswith("Not evaluated")


@pytest.mark.parametrize("names_the_check", [True, False])
@pytest.mark.parametrize(
    ("event", "branch"),
    [("pull_request", "feature-39"), ("push", "feature-39"), ("workflow_dispatch", "feature-39")],
)
async def test_a_run_the_pr_started_itself_never_judges(
    gate: Gate, event: str, branch: str, names_the_check: bool
) -> None:
    """A PR can edit its own copy of the workflow to run on pull_request with a forged report."""
    pull = await open_pr(gate, 39)
    [real] = gate.check_runs()
    inputs = {"pr": "39", "base_sha": gate.repo.head("main") or ""}
    if names_the_check:
        inputs["check_run_id"] = str(real.id)
    forged = gate.fake.start_run(gate.repo, inputs=inputs)
    forged.event, forged.head_branch = event, branch
    report = report_for(forged, head_sha=pull.head_sha)
    before = len(gate.fake.calls)
    assert await complete(gate, forged, report) == 200
    assert gate.repo.check_runs[real.id].status == "in_progress"  # untouched
    assert len(gate.check_runs()) == 1
    assert [c for c in gate.fake.calls[before:] if c.auth == "installation"] == []


async def test_an_overdue_run_is_timed_out_by_the_next_event(start_gate: StartGate) -> None:
    gate = await start_gate(audit_timeout_seconds=60)
    gate.fake.advance(-3600)  # the run starts an hour ago
    pull = await open_pr(gate, 30)
    gate.fake.advance(3600)
    [stuck] = gate.check_runs()
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "reopened")
    assert await gate.deliver("pull_request", payload) == 200
    stuck = gate.repo.check_runs[stuck.id]
    assert stuck.conclusion == "timed_out"
    assert any(a["identifier"] == "rerun" for a in stuck.actions)
    assert len(gate.check_runs()) == 2


async def test_a_fork_waiting_for_a_maintainer_asks_for_action(gate: Gate) -> None:
    check = await fail_closed(
        gate,
        31,
        report=lambda run: report_for(run, error="awaiting a maintainer").model_copy(
            update={"error_kind": ErrorKind.AWAITING_APPROVAL}
        ),
    )
    assert check.conclusion == "action_required"
    # The approval names the head under review: the exact command to comment, with the SHA.
    assert f"/canon-gate approve {check.head_sha}" in check.output["summary"]


async def test_a_setup_problem_in_the_runner_asks_for_action_never_success(gate: Gate) -> None:
    check = await fail_closed(
        gate,
        32,
        report=lambda run: report_for(run, error="no model credential: set the secret").model_copy(
            update={"error_kind": ErrorKind.NO_CREDENTIALS}
        ),
    )
    assert check.conclusion == "action_required"
    assert "no model credential" in check.output["summary"]


async def test_a_redelivered_rerun_request_starts_one_session(
    gate: Gate, start_gate: StartGate
) -> None:
    await open_pr(gate, 40)
    [check] = gate.check_runs()
    payload = gate.fake.payloads.check_run(gate.repo, check.id, "rerequested")
    assert await gate.deliver("check_run", payload, delivery_id="rerun-guid") == 200
    await start_gate()  # a restart, or another replica: no memory of the delivery
    assert await gate.deliver("check_run", payload, delivery_id="rerun-guid") == 200
    assert len(gate.repo.runs) == 2  # the first audit and one re-run; each is a paid session
    assert [r.status for r in gate.check_runs()] == ["completed", "in_progress"]


async def test_a_superseded_sha_is_audited_again_when_it_returns(gate: Gate) -> None:
    pull = await open_pr(gate, 41)
    first_sha = pull.head_sha
    gate.repo.push(pull, {"docs/guide.md": "v2\n"})
    sync = gate.fake.payloads.pull_request(gate.repo, pull, "synchronize")
    assert await gate.deliver("pull_request", sync) == 200
    # A force-push back to the first SHA: its only run was cancelled, so it was never judged.
    pull.head_sha = first_sha
    sync = gate.fake.payloads.pull_request(gate.repo, pull, "synchronize")
    assert await gate.deliver("pull_request", sync) == 200
    on_first = [r for r in gate.check_runs() if r.head_sha == first_sha]
    assert [r.status for r in on_first] == ["completed", "in_progress"]


async def test_a_refused_dispatch_never_leaves_the_run_queued(gate: Gate) -> None:
    # e.g. Actions disabled for the repository: GitHub answers 403.
    gate.fake.inject(
        "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
        403,
        body='{"message": "Resource not accessible by integration"}',
        headers={"content-type": "application/json"},
    )
    await open_pr(gate, 42)
    [check] = gate.check_runs()
    assert check.conclusion == "action_required"
    assert any(a["identifier"] == "rerun" for a in check.actions)


async def test_an_unreadable_zip_is_not_evaluated(gate: Gate) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("report.json", b"{}")
    blob = bytearray(buffer.getvalue())
    # An unknown compression method, in the local and the central header alike.
    blob[blob.index(b"PK\x03\x04") + 8] = 99
    blob[blob.index(b"PK\x01\x02") + 10] = 99
    check = await fail_closed(gate, 43, report=bytes(blob))
    assert check.conclusion == "failure"
    assert "could not be read" in check.output["summary"]
