"""The reconciler against the fake GitHub's delivery log: nothing is lost when the App fails."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import aiohttp
from appkit import Gate, StartGate, artifact, free_port, register, report_for
from fakes.github import FakeGitHub
from fakes.github.state import Repo

from app.edge import metrics
from app.edge.runtime import RUNTIME
from app.flows.recovery import RECONCILER

DISPATCH = "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


def pull_request(fake: FakeGitHub, repo: Repo, number: int) -> tuple[Any, dict[str, Any]]:
    pull = repo.open_pull(number, {f"docs/page-{number}.md": "# Page\n"})
    return pull, fake.payloads.pull_request(repo, pull, "opened")


def redeliveries(fake: FakeGitHub) -> list[Any]:
    return [d for d in fake.deliveries if d.redelivery]


async def reconcile(app: Gate) -> int:
    github_app = app.server.app[RUNTIME].github_app
    assert github_app is not None
    return await app.server.app[RECONCILER].reconcile(github_app, timedelta(hours=24))


async def test_a_delivery_lost_while_the_app_was_down_is_redelivered_once_at_start_up(
    fake_github: FakeGitHub, start_gate: StartGate, repo: Repo
) -> None:
    first = await start_gate()
    handled_pull, handled = pull_request(fake_github, repo, 11)
    assert await fake_github.deliver("pull_request", handled, delivery_id="ok-1") == 200
    await first.server.close()  # the App goes down ...
    fake_github.webhook_url = f"http://127.0.0.1:{free_port()}/webhooks"
    lost_pull, lost = pull_request(fake_github, repo, 12)
    assert await fake_github.deliver("pull_request", lost, delivery_id="lost-1") == 0

    # ... and comes back: the start-up pass finds the lost delivery and asks for it again.
    second = await start_gate(redeliver_interval_seconds=3600)
    await eventually(lambda: len(redeliveries(fake_github)) == 1)
    [again] = redeliveries(fake_github)
    assert again.guid == "lost-1"
    assert again.status_code == 200
    # Exactly one check run per head SHA: the handled PR was not redelivered.
    for pull in (handled_pull, lost_pull):
        runs = [c for c in repo.check_runs.values() if c.head_sha == pull.head_sha]
        assert sorted(c.name for c in runs) == ["canon-gate", "canon-gate/structure"], pull.number
    # The next pass has nothing to do: each GUID is redelivered once.
    assert await reconcile(second) == 0
    assert len(redeliveries(fake_github)) == 1
    [ask] = fake_github.calls_to("POST", "/app/hook/deliveries/{delivery_id}/attempts")
    assert ask.auth == "jwt"


async def test_a_503_between_create_and_dispatch_ends_in_one_concluded_check_run(
    fake_github: FakeGitHub, start_gate: StartGate, repo: Repo
) -> None:
    first = await start_gate()
    fake_github.inject(DISPATCH, 502)
    _, payload = pull_request(fake_github, repo, 12)
    assert await fake_github.deliver("pull_request", payload, delivery_id="d-503") == 503
    # The anchor waits, queued: its companions are made once the workflow is dispatched.
    [check] = repo.check_runs.values()
    assert (check.name, check.status) == ("canon-gate", "queued")
    assert not repo.runs

    # Restart with empty caches: only GitHub remembers what happened.
    await first.server.close()
    await start_gate(redeliver_interval_seconds=3600)
    await eventually(lambda: len(redeliveries(fake_github)) == 1)
    assert redeliveries(fake_github)[0].status_code == 200
    # The anchor was reused, not duplicated, and its companion made, already in progress.
    check, structure = repo.check_runs.values()
    assert (check.name, structure.name) == ("canon-gate", "canon-gate/structure")
    assert (check.status, structure.status) == ("in_progress", "in_progress")
    assert structure.details_url == check.details_url
    [run] = repo.runs.values()

    # The run fails without a report: the check run concludes, never success.
    done = fake_github.complete_run(repo, run.id, "failure")
    assert await fake_github.deliver("workflow_run", done) == 200
    for check in repo.check_runs.values():  # `canon-gate/structure` too
        assert check.status == "completed"
        assert check.conclusion not in ("success", None)


async def test_github_errors_never_stop_the_reconciler(
    fake_github: FakeGitHub, start_gate: StartGate, repo: Repo
) -> None:
    failed = metrics.RECONCILE_PASSES.labels(outcome="error")
    before = failed._value.get()
    fault = fake_github.inject("GET /app/hook/deliveries", 500, times=-1)
    app = await start_gate(redeliver_interval_seconds=3600)
    await eventually(lambda: failed._value.get() > before)
    # The App still serves, and once GitHub recovers the next pass works.
    fault.times = 0
    fake_github.webhook_url = f"http://127.0.0.1:{free_port()}/webhooks"
    _, lost = pull_request(fake_github, repo, 13)
    assert await fake_github.deliver("pull_request", lost) == 0
    fake_github.webhook_url = app.url("/webhooks")
    app.server.app[RECONCILER].wake()
    await eventually(lambda: len(redeliveries(fake_github)) == 1)
    assert redeliveries(fake_github)[0].status_code == 200


async def test_the_reconciler_starts_once_the_registration_flow_configures_the_app(
    fake_github: FakeGitHub, start_gate: StartGate
) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    await start_gate(
        port=port,
        public_url=public,
        redeliver_interval_seconds=3600,
        github_app_id=None,
        github_app_private_key=None,
        github_webhook_secret=None,
    )
    listing = "/app/hook/deliveries"
    await asyncio.sleep(0.1)
    assert not fake_github.calls_to("GET", listing)  # setup mode: nothing to reconcile yet
    async with aiohttp.ClientSession() as http:
        back, _ = await register(http, public)
        async with http.get(back) as done:
            assert done.status == 200
    await eventually(lambda: bool(fake_github.calls_to("GET", listing)))
    assert fake_github.calls_to("GET", listing)[0].auth == "jwt"


LEDGER_TREE = "POST /repos/{owner}/{repo}/git/trees"


async def test_the_sweep_times_out_an_audit_whose_completion_failed_for_good(
    fake_github: FakeGitHub, start_gate: StartGate, repo: Repo
) -> None:
    """Issue 9, defect 8: a run must never stay in_progress because its completion was lost."""
    first = await start_gate(redeliver_interval_seconds=3600)
    # The audit started two hours ago (the App's audit time limit is an hour).
    fake_github.clock.offset = -2 * 3600
    _, payload = pull_request(fake_github, repo, 31)
    assert await fake_github.deliver("pull_request", payload) == 200
    [check] = [c for c in repo.check_runs.values() if c.name == "canon-gate"]
    assert check.status == "in_progress"
    [run] = repo.runs.values()
    # The workflow reported back, but the ledger write failed on both tries (a 502 each time).
    fake_github.clock.offset = -90 * 60
    fake_github.inject(LEDGER_TREE, 502, times=12)
    report = report_for(run)
    done = fake_github.complete_run(repo, run.id, "success", artifact(report))
    assert await fake_github.deliver("workflow_run", done) == 503
    await reconcile(first)
    assert redeliveries(fake_github)[-1].status_code == 503
    assert repo.check_runs[check.id].status == "in_progress"

    # The App restarts with nothing in memory; the next pass sweeps the delivery log.
    fake_github.clock.offset = 0
    fake_github.faults.pending.clear()
    await first.server.close()
    second = await start_gate(redeliver_interval_seconds=3600)
    github_app = second.server.app[RUNTIME].github_app
    assert github_app is not None
    reconciler = second.server.app[RECONCILER]
    await reconciler.reconcile(github_app, timedelta(hours=24), timedelta(minutes=45))
    swept = repo.check_runs[check.id]
    assert (swept.status, swept.conclusion) == ("completed", "timed_out")
    assert [a["identifier"] for a in swept.actions] == ["rerun"]
    # A second pass (or a second replica) finds nothing left to do.
    calls = len(fake_github.calls)
    await reconciler.reconcile(github_app, timedelta(hours=24), timedelta(minutes=45))
    patches = [c for c in fake_github.calls[calls:] if c.method == "PATCH"]
    assert patches == []
