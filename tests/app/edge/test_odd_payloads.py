"""Odd but signed deliveries: each gets a clear 4xx (or 200 "ignored"), never 5xx, no GitHub call.

A 5xx asks GitHub's delivery log (and our reconciler) to redeliver; a payload that can never be
acted on would then be redelivered forever.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp
import pytest
from appkit import WEBHOOK_SECRET, Gate, artifact, report_for
from fakes.github import sign

from app.edge.webhooks import MAX_DEPTH


async def post(gate: Gate, event: str, body: bytes) -> tuple[int, dict[str, Any]]:
    headers = {
        "X-Hub-Signature-256": sign(body, WEBHOOK_SECRET),
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(gate.url("/webhooks"), data=body, headers=headers) as response,
    ):
        return response.status, await response.json()


def nested(depth: int, leaf: str = "x") -> str:
    return "[" * depth + json.dumps(leaf) + "]" * depth


def opened(gate: Gate) -> dict[str, Any]:
    pull = gate.repo.open_pull(5, {"docs/guide.md": "# Guide\n"})
    return gate.fake.payloads.pull_request(gate.repo, pull, "opened")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 3_000, 5_000, 100_000])
async def test_deep_nesting_is_refused_with_the_reason(gate: Gate, depth: int) -> None:
    payload = json.dumps({**opened(gate), "extra": "NESTED"}).encode()
    body = payload.replace(b'"NESTED"', nested(depth).encode())
    status, answer = await post(gate, "pull_request", body)
    assert status == 422
    assert answer["message"].startswith(f"the body nests deeper than {MAX_DEPTH} levels")
    assert gate.fake.calls == []


async def test_a_body_that_is_only_deep_nesting_is_refused(gate: Gate) -> None:
    status, answer = await post(gate, "pull_request", b"{" + b'"a":{' * 5_000 + b"}" * 5_001)
    assert status == 422
    assert answer["message"].startswith("the body nests deeper than")
    assert gate.fake.calls == []


async def test_nesting_within_the_bound_is_handled(gate: Gate) -> None:
    payload = json.dumps({**opened(gate), "extra": json.loads(nested(MAX_DEPTH - 2))}).encode()
    status, answer = await post(gate, "pull_request", payload)
    assert (status, answer["message"]) == (200, "handled")
    assert len(gate.check_runs()) == 1


@pytest.mark.parametrize(
    "action",
    [["opened"], {"opened": True}, {}, [], 7, 1.5, True],
    ids=["list", "object", "empty-object", "empty-list", "int", "float", "bool"],
)
@pytest.mark.parametrize("event", ["pull_request", "check_run", "issue_comment", "star"])
async def test_an_action_that_is_not_a_string_is_refused(
    gate: Gate, event: str, action: Any
) -> None:
    body = json.dumps({**opened(gate), "action": action}).encode()
    status, answer = await post(gate, event, body)
    assert status == 422
    assert answer["message"].startswith("payload cannot be acted on: `action`")
    assert gate.fake.calls == []


@pytest.mark.parametrize("field", ["installation", "repository"])
@pytest.mark.parametrize("value", [["x"], "octo-org", 7, {"id": [1]}, {"full_name": {}}])
async def test_odd_envelope_fields_are_4xx_not_a_crash(gate: Gate, field: str, value: Any) -> None:
    body = json.dumps({**opened(gate), field: value}).encode()
    status, answer = await post(gate, "pull_request", body)
    assert status == 422
    assert answer["message"].startswith("payload cannot be acted on")
    assert gate.fake.calls == []


@pytest.mark.parametrize("full_name", ["", "handbook", "octo-org/", "/handbook", "../..", "a/b/c"])
async def test_a_repository_name_that_is_not_owner_slash_name_is_refused(
    gate: Gate, full_name: str
) -> None:
    # Found by the fuzzer: a rerun on a repository named "" crashed on splitting the name (503).
    [check] = [c for c in await started(gate)]
    payload = gate.fake.payloads.check_run(gate.repo, check.id, "requested_action", "rerun")
    payload["repository"]["full_name"] = full_name
    before = len(gate.fake.calls)
    status, answer = await post(gate, "check_run", json.dumps(payload).encode())
    assert status == 422
    assert answer["message"].startswith("payload cannot be acted on: `repository.full_name`")
    assert gate.fake.calls[before:] == []


@pytest.mark.parametrize("sha", ["", "..", "HEAD", "A" * 40, "0" * 39])
async def test_a_head_sha_that_is_not_a_commit_id_is_refused(gate: Gate, sha: str) -> None:
    payload = opened(gate)
    payload["pull_request"]["head"]["sha"] = sha
    status, answer = await post(gate, "pull_request", json.dumps(payload).encode())
    assert status == 422
    assert answer["message"].startswith("payload cannot be acted on: `pull_request.head.sha`")
    assert gate.fake.calls == []


async def started(gate: Gate) -> list[Any]:
    """Open a PR and finish its audit through the front door; return its check runs."""
    status, answer = await post(gate, "pull_request", json.dumps(opened(gate)).encode())
    assert (status, answer["message"]) == (200, "handled")
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    done = gate.fake.complete_run(gate.repo, run.id, "success", artifact(report_for(run)))
    assert await gate.deliver("workflow_run", done) == 200
    return gate.check_runs()
