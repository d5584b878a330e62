"""Resilience: GitHub answering 502 and 429 on a share of calls, and the rate-limit edge cases.

Every delivery the App answers 5xx is redelivered with the same id, as GitHub's delivery log (or
the App's reconciler) would, until it answers 2xx. Whatever failed where, every audit concludes,
once, and the ledger holds one record per check run.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from typing import Any

from appkit import Gate, StartGate, artifact, finding, report_for
from fakes.github.auth import parse_auth

from action.report import Classification
from app.judge.correlate import workflow_run_id_of
from app.ledger.store import BRANCH

CREATE = "POST /repos/{owner}/{repo}/check-runs"
LIST = "GET /repos/{owner}/{repo}/commits/{ref}/check-runs"
MAX_ATTEMPTS = 25


async def deliver_until_ok(gate: Gate, event: str, payload: dict[str, Any]) -> list[int]:
    """Deliver, then redeliver the same id while the App answers 5xx; return every status."""
    delivery_id = str(uuid.uuid4())
    statuses: list[int] = []
    while len(statuses) < MAX_ATTEMPTS:
        status = await gate.deliver(event, payload, delivery_id=delivery_id)
        statuses.append(status)
        if 200 <= status < 300:
            return statuses
        assert status >= 500, f"{event} answered {status}: a 4xx is never redelivered"
    raise AssertionError(f"{event} never answered 2xx: {statuses}")


def ledger_audits(gate: Gate) -> list[dict[str, Any]]:
    """The audit records on the ledger branch, read straight out of the fake's object store."""
    sha = gate.repo.head(BRANCH)
    if sha is None:
        return []
    files = gate.repo.store.files_at(sha)
    return [json.loads(text) for path, text in files.items() if "/audits/" in path]


async def audit_one(gate: Gate, number: int) -> dict[str, Any]:
    """Drive one PR from opened to a concluded check run through a flaky GitHub."""
    pull = gate.repo.open_pull(number, {f"docs/page-{number}.md": f"# Page {number}\n"})
    opened = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    statuses = await deliver_until_ok(gate, "pull_request", opened)
    [check] = [c for c in gate.check_runs() if c.head_sha == pull.head_sha]
    assert check.status == "in_progress", (number, check.status, check.output)
    run_id = workflow_run_id_of(check.details_url)
    assert run_id is not None
    run = gate.repo.runs[run_id]

    # Three shapes of outcome: blocking findings, only cosmetic ones, and no report at all.
    if number % 3 == 0:
        blob, conclusion, expected = None, "failure", "failure"
    elif number % 3 == 1:
        findings = [finding(line=2), finding(classification=Classification.COSMETIC, line=5)]
        blob, conclusion, expected = (
            artifact(report_for(run, findings=findings)),
            "success",
            "failure",
        )
    else:
        cosmetic = [finding(classification=Classification.COSMETIC, line=4)]
        blob, conclusion, expected = (
            artifact(report_for(run, findings=cosmetic)),
            "success",
            "success",
        )
    done = gate.fake.complete_run(gate.repo, run.id, conclusion, blob)
    statuses += await deliver_until_ok(gate, "workflow_run", done)
    return {
        "pr": number,
        "sha": pull.head_sha,
        "check": check.id,
        "reported": blob is not None,
        "expected": expected,
        "statuses": statuses,
    }


async def test_every_audit_concludes_once_through_502s_and_429s(start_gate: StartGate) -> None:
    gate = await start_gate()
    gate.fake.chaos(share=0.25, statuses=(502, 429), retry_after=0, seed=20240611)
    # Ten PRs at once: the flows interleave, and their ledger commits race each other too.
    flows = await asyncio.gather(*(audit_one(gate, n) for n in range(101, 111)))
    gate.fake.chaos(share=0)

    # The chaos really bit: calls failed, and some deliveries needed redelivering.
    injected = Counter(c.status for c in gate.fake.calls if c.injected)
    assert injected[502] >= 5, injected
    assert injected[429] >= 5, injected
    assert any(len(f["statuses"]) > 2 for f in flows)

    # Orphans (a dispatch repeated after a lost in_progress update) complete without effect.
    waited = {workflow_run_id_of(c.details_url) for c in gate.check_runs()}
    for run in [r for r in gate.repo.runs.values() if r.id not in waited]:
        orphan = gate.fake.complete_run(gate.repo, run.id, "failure")
        await deliver_until_ok(gate, "workflow_run", orphan)

    by_sha = Counter(c.head_sha for c in gate.check_runs())
    assert set(by_sha.values()) == {1}, "a head SHA has more than one canon-gate check run"
    assert len(by_sha) == len(flows)
    records = Counter(r["check_run_id"] for r in ledger_audits(gate))
    for flow in flows:
        check = gate.repo.check_runs[flow["check"]]
        assert check.status == "completed", flow
        assert check.conclusion == flow["expected"], (flow, check.output.get("title"))
        if not flow["reported"]:
            assert check.conclusion != "success"
            assert "Not evaluated" in check.output["title"]
        # One audit record per check run that had a report; none duplicated by a redelivery.
        assert records[flow["check"]] == (1 if flow["reported"] else 0), flow
    assert sum(records.values()) == sum(f["reported"] for f in flows)


async def test_a_429_on_the_create_is_retried_inside_the_delivery(gate: Gate) -> None:
    gate.fake.inject(CREATE, 429, headers={"retry-after": "1"})
    pull = gate.repo.open_pull(31, {"docs/a.md": "a\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    started = time.monotonic()
    assert await gate.deliver("pull_request", payload) == 200
    assert time.monotonic() - started >= 1.0  # retry-after was honoured, not ignored
    # The create of `canon-gate`, retried, then `canon-gate/structure`'s.
    assert [c.status for c in gate.fake.calls_to("POST", CREATE.split(" ")[1])] == [429, 201, 201]
    [check] = gate.check_runs()
    assert check.status == "in_progress"


async def test_a_502_on_a_get_is_retried_inside_the_delivery(gate: Gate) -> None:
    gate.fake.inject(LIST, 502)
    pull = gate.repo.open_pull(32, {"docs/a.md": "a\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload) == 200
    assert [c.status for c in gate.fake.calls_to("GET", LIST.split(" ")[1])] == [502, 200]
    assert len(gate.check_runs()) == 1


async def test_a_502_on_a_post_is_not_retried_and_the_redelivery_completes_it(
    gate: Gate,
) -> None:
    dispatch = "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"
    for number, route in ((33, CREATE), (34, dispatch)):
        gate.fake.inject(route, 502)
        pull = gate.repo.open_pull(number, {"docs/a.md": f"{number}\n"})
        payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
        before = len(gate.fake.calls_to("POST", route.split(" ")[1]))
        assert await gate.deliver("pull_request", payload, delivery_id=f"d-{number}") == 503
        # GitHub may have acted on a POST that answered 502: the App does not repeat it blindly.
        assert len(gate.fake.calls_to("POST", route.split(" ")[1])) == before + 1
        assert await gate.deliver("pull_request", payload, delivery_id=f"d-{number}") == 200
        [check] = [c for c in gate.check_runs() if c.head_sha == pull.head_sha]
        assert check.status == "in_progress"
        assert len(gate.runs_for(check.id)) == 1


async def test_an_exhausted_rate_limit_past_the_budget_answers_503_at_once(gate: Gate) -> None:
    fake = gate.fake
    if fake.clock.now() % 3600 > 3600 - 30:
        fake.advance(60)  # the fake resets at the top of the hour: keep the reset far away

    def exhaust(request: Any) -> bool:
        if request.method != "POST" or not request.path.endswith("/check-runs"):
            return False
        # Spend the token's whole hourly budget: the answer says remaining=0 until the reset.
        fake.rate[parse_auth(request).credential or "anonymous"] = 10**6
        return True

    fake.inject(exhaust, 403, body='{"message": "API rate limit exceeded for installation."}')
    pull = gate.repo.open_pull(35, {"docs/a.md": "a\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    started = time.monotonic()
    assert await gate.deliver("pull_request", payload) == 503
    assert time.monotonic() - started < 2.0  # no sleep until a reset the budget cannot reach
    [limited] = [c for c in fake.calls if c.injected]
    assert limited.status == 403
    assert gate.check_runs() == []


PATCH = "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}"


async def test_a_lost_in_progress_update_does_not_dispatch_a_second_workflow_run(
    gate: Gate,
) -> None:
    # The dispatch went through, the in_progress PATCH answered 502 (not repeated: PATCH is not
    # idempotent in general), so the redelivery sees a queued run with no details_url.
    gate.fake.inject(PATCH, 502)
    pull = gate.repo.open_pull(36, {"docs/a.md": "a\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload, delivery_id="d-36") == 503
    assert await gate.deliver("pull_request", payload, delivery_id="d-36") == 200
    [check] = gate.check_runs()
    assert len(gate.runs_for(check.id)) == 1  # each dispatch is a paid agent session


async def test_a_lost_annotation_batch_is_written_by_the_redelivery(gate: Gate) -> None:
    pull = gate.repo.open_pull(37, {"docs/a.md": "a\n"})
    await deliver_until_ok(
        gate, "pull_request", gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    )
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    many = [finding(anchor=f"quote {i}", line=i + 1) for i in range(120)]
    done = gate.fake.complete_run(
        gate.repo, run.id, "success", artifact(report_for(run, findings=many))
    )
    patches = len(gate.fake.calls_to("PATCH", PATCH.split(" ")[1]))
    # The first PATCH concludes with 50 annotations; the second batch answers 502.
    gate.fake.inject(
        lambda r: (
            r.method == "PATCH"
            and len(gate.fake.calls_to("PATCH", PATCH.split(" ")[1])) == patches + 2
        ),
        502,
    )
    statuses = await deliver_until_ok(gate, "workflow_run", done)
    assert statuses == [503, 200]
    assert len(gate.repo.check_runs[check.id].annotations) == 120
