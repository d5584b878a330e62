"""Fuzz the webhook edge with hypothesis over GitHub's real example payloads.

Each example is signed and POSTed to one running App wired to the fake GitHub: fields get other
types or go missing, values nest deeper, `action` becomes a list, an object or a number. Whatever
arrives, the App never answers 5xx (which asks for a redelivery that would fail the same way
forever), and a payload that the App's own models refuse never leads to a GitHub call.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from typing import Any

import aiohttp
import pytest
from appkit import WEBHOOK_SECRET, Gate, artifact, finding, report_for
from fakes.github import load_example, sign
from fakes.github.payloads import WEBHOOKS
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from app.edge.webhooks import MAX_DEPTH
from app.events import (
    CheckRunEvent,
    CheckSuiteEvent,
    Envelope,
    InstallationEvent,
    IssueCommentEvent,
    PullRequestEvent,
    WorkflowRunEvent,
)

EXAMPLES = sorted(p.stem for p in WEBHOOKS.glob("*.json") if "." in p.stem)
# The typed view the App acts on, per event; a payload none of them accepts is unusable.
MODELS: dict[str, type[BaseModel]] = {
    "pull_request": PullRequestEvent,
    "check_run": CheckRunEvent,
    "check_suite": CheckSuiteEvent,
    "workflow_run": WorkflowRunEvent,
    "issue_comment": IssueCommentEvent,
    "installation": InstallationEvent,
}
# Our own 4xx answers start with one of these.
REASONS = (
    "payload cannot be acted on",
    f"the body nests deeper than {MAX_DEPTH} levels",
    "the body is not",
)
FUZZ = settings(
    # A few seconds in the suite; CANON_GATE_FUZZ_EXAMPLES=10000 searches harder.
    max_examples=int(os.environ.get("CANON_GATE_FUZZ_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63),
    st.floats(),
    st.text(max_size=12),
    # Strings GitHub would never send where a name or a SHA goes: empty, a path, a lone
    # surrogate (valid JSON, invalid UTF-8), a NUL.
    st.sampled_from(["", "../../x", "a/b/c", "\ud800", "\x00", "0" * 40]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers() | st.text(max_size=6), max_size=3),
)
odd_actions = st.one_of(
    st.lists(st.sampled_from(["opened", "completed", "created"]), max_size=3),
    st.dictionaries(st.sampled_from(["opened", "completed"]), st.booleans(), max_size=2),
    st.integers(),
    st.floats(),
    st.booleans(),
)
depths = st.sampled_from([2, MAX_DEPTH - 8, MAX_DEPTH + 1, 1_000, 3_000, 5_000]) | st.integers(
    1, 6_000
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside `value`, shallow ones first."""
    found: list[tuple[Any, ...]] = []
    level = [(prefix, value)]
    while level:
        found.extend(path for path, _ in level if path)
        level = [
            ((*path, key), child)
            for path, node in level
            if isinstance(node, dict | list)
            for key, child in (node.items() if isinstance(node, dict) else enumerate(node))
        ]
    return found


def parent(payload: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        payload = payload[key]
    return payload


def on_our_repo(gate: Gate, name: str) -> dict[str, Any]:
    """A real example, pointed at the fake's installed repository as GitHub would send it."""
    payload = load_example(name)
    if "repository" in payload:
        payload["repository"] = {**payload["repository"], **gate.repo.json()}
    if "installation" in payload:
        payload["installation"] = {**payload["installation"], "id": gate.repo.installation_id}
    return payload


def mutated(data: st.DataObject, bases: dict[str, Any]) -> tuple[str, bytes]:
    """Draw a base payload and up to three mutations; return its event and its body."""
    name = data.draw(st.sampled_from(sorted(bases)), label="example")
    payload = copy.deepcopy(bases[name])
    deep: dict[str, int] = {}  # sentinel -> levels: nested only once serialised
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        kind = data.draw(st.sampled_from(["swap", "drop", "deepen", "action"]), label="kind")
        if kind == "action":
            payload["action"] = data.draw(odd_actions, label="action")
            continue
        candidates = paths(payload)
        if not candidates:
            continue
        path = data.draw(st.sampled_from(candidates[:40]) | st.sampled_from(candidates))
        holder, key = parent(payload, path), path[-1]
        if kind == "swap":
            holder[key] = data.draw(odd_values, label="value")
        elif kind == "drop":
            del holder[key]
        else:
            sentinel = f"deep-{uuid.uuid4().hex}"
            deep[sentinel] = data.draw(depths, label="depth")
            holder[key] = sentinel
    body = json.dumps(payload)
    for sentinel, levels in deep.items():
        body = body.replace(f'"{sentinel}"', "[" * levels + '"x"' + "]" * levels)
    return name.split(".", 1)[0], body.encode()


def usable(event: str, body: bytes) -> bool:
    """Whether the App's models accept the payload: the oracle for 'no GitHub call'."""
    try:
        data = json.loads(body)
        if nesting(data) > MAX_DEPTH:
            return False
        Envelope.model_validate(data)
        model = MODELS.get(event)
        if model is not None:
            model.model_validate(data)
    except (RecursionError, ValueError, ValidationError):
        return False
    return True


def nesting(data: Any) -> int:
    deepest, level = 0, [data]
    while level:
        level = [n for n in level if isinstance(n, dict | list)]
        deepest += bool(level)
        level = [c for n in level for c in (n.values() if isinstance(n, dict) else n)]
    return deepest


async def post(gate: Gate, event: str, body: bytes) -> tuple[int, str]:
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
        return response.status, str((await response.json()).get("message", ""))


@pytest.fixture
def examples(gate: Gate) -> dict[str, Any]:
    return {name: on_our_repo(gate, name) for name in EXAMPLES}


@pytest.fixture
async def actionable(gate: Gate) -> dict[str, Any]:
    """Payloads about the fake's real state, each of which the App acts on as it stands."""
    fake, repo = gate.fake, gate.repo
    pull = repo.open_pull(12, {"docs/guide.md": "# Guide\nA regex gates merges.\n"})
    assert await gate.deliver("pull_request", fake.payloads.pull_request(repo, pull, "opened"))
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    fake.complete_run(repo, run.id, "success", artifact(report_for(run, findings=[finding()])))
    waive = f"/canon-gate waive {finding().id} the guide is being rewritten"
    return {
        **{
            f"pull_request.{action}": fake.payloads.pull_request(repo, pull, action)
            for action in ("opened", "synchronize", "reopened", "ready_for_review", "edited")
        },
        "check_run.rerequested": fake.payloads.check_run(repo, check.id, "rerequested"),
        "check_run.requested_action": fake.payloads.check_run(
            repo, check.id, "requested_action", "rerun"
        ),
        "check_suite.rerequested": fake.payloads.check_suite(repo, pull.head_sha, "rerequested"),
        "workflow_run.completed": fake.payloads.workflow_run(repo, run.id, "completed"),
        "issue_comment.rerun": fake.payloads.issue_comment(
            repo, 12, "/canon-gate rerun", user="maintainer"
        ),
        "issue_comment.waive": fake.payloads.issue_comment(repo, 12, waive, user="maintainer"),
        "installation.deleted": fake.payloads.installation(repo.installation_id, "deleted"),
    }


async def deliver_mutated(gate: Gate, data: st.DataObject, bases: dict[str, Any]) -> None:
    kind, body = mutated(data, bases)
    before = len(gate.fake.calls)
    status, message = await post(gate, kind, body)
    event(f"answered {status}, {'usable' if usable(kind, body) else 'unusable'}")
    assert status < 500, (status, message)
    if 400 <= status < 500:
        assert message.startswith(REASONS), message
    if not usable(kind, body):
        assert status == 200 or 400 <= status < 500
        made = [(c.method, c.route) for c in gate.fake.calls[before:]]
        assert made == [], f"{kind}: GitHub was called for an unusable payload: {made}"


@FUZZ
@given(data=st.data())
async def test_mutated_real_examples_never_answer_5xx(
    gate: Gate, examples: dict[str, Any], data: st.DataObject
) -> None:
    await deliver_mutated(gate, data, examples)


@FUZZ
@given(data=st.data())
async def test_mutated_actionable_payloads_never_answer_5xx(
    gate: Gate, actionable: dict[str, Any], data: st.DataObject
) -> None:
    await deliver_mutated(gate, data, actionable)
