"""PR comment commands through the front door: what a reader sees, fork approval, who may waive.

Signed `issue_comment` webhooks are POSTed to the App, which answers against the fake GitHub.
"""

from __future__ import annotations

import pytest
from appkit import Gate, finding

from tests.app.flows.test_governance import audit, comment, replies


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("<!--\n/canon-gate rerun\n-->", id="HTML comment"),
        pytest.param("Context:\n\n    /canon-gate rerun\n", id="indented code"),
        pytest.param("```sh\nmake\n~~~\n/canon-gate rerun\n", id="mismatched fence"),
    ],
)
async def test_a_command_hidden_from_readers_does_nothing(gate: Gate, body: str) -> None:
    pull = gate.repo.open_pull(60, {"docs/guide.md": "x\n"})
    await audit(gate, pull, [finding()])
    runs = len(gate.repo.runs)
    assert await comment(gate, pull, body) == 200
    assert len(gate.repo.runs) == runs  # no audit was started
    assert len(gate.check_runs()) == 1
    assert replies(gate, 60) == []


def dispatched(gate: Gate, number: int) -> list[str]:
    """The `approved` input of each audit dispatched for a PR, oldest first."""
    return [r.inputs.get("approved", "false") for r in gate.runs_for_pr(number)]


async def open_fork_pull(gate: Gate, number: int) -> object:
    """A fork's PR, opened: its first audit is dispatched without approval."""
    pull = gate.repo.open_pull(number, {"docs/guide.md": "x\n"}, fork=True, user="mallory")
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload) == 200
    assert dispatched(gate, number) == ["false"]
    return pull


@pytest.mark.parametrize("length", [12, 20, 40])
async def test_approve_of_the_current_head_is_the_go_ahead_for_a_fork(
    gate: Gate, length: int
) -> None:
    pull = await open_fork_pull(gate, 61)
    assert await comment(gate, pull, f"/canon-gate approve {pull.head_sha[:length]}") == 200
    assert dispatched(gate, 61) == ["false", "true"]
    assert gate.runs_for_pr(61)[-1].inputs["head_sha"] == pull.head_sha
    assert replies(gate, 61) == []


async def test_approve_of_a_head_that_moved_is_refused_naming_the_current_one(
    gate: Gate,
) -> None:
    pull = await open_fork_pull(gate, 62)
    reviewed = pull.head_sha
    # The fork's author pushes after the maintainer reviewed, before the App reads the comment.
    gate.repo.push(pull, {"docs/guide.md": "y\n"})
    assert await comment(gate, pull, f"/canon-gate approve {reviewed[:12]}") == 200
    assert dispatched(gate, 62) == ["false"]  # nothing was approved or started
    [answer] = replies(gate, 62)
    assert answer.startswith(f"`{reviewed[:12]}` is not the head of this pull request")
    assert pull.head_sha in answer


async def test_rerun_of_a_fork_no_longer_approves_it(gate: Gate) -> None:
    pull = await open_fork_pull(gate, 63)
    assert await comment(gate, pull, "/canon-gate rerun") == 200
    assert dispatched(gate, 63) == ["false", "false"]  # audited again, still awaiting approval
    [answer] = replies(gate, 63)
    assert answer.startswith("Re-running the audit. This pull request comes from a fork")
    assert f"/canon-gate approve <head-sha>` of the head you reviewed (now `{pull.head_sha}`" in (
        answer
    )


async def test_rerun_of_a_pr_from_the_repository_itself_needs_no_reply(gate: Gate) -> None:
    pull = gate.repo.open_pull(64, {"docs/guide.md": "x\n"})
    await audit(gate, pull, [])
    assert await comment(gate, pull, "/canon-gate rerun") == 200
    assert len(gate.runs_for_pr(64)) == 2
    assert replies(gate, 64) == []


@pytest.mark.parametrize(
    ("body", "start"),
    [
        ("/canon-gate approve", "Which commit?"),
        ("/canon-gate approve abc12", "abc12 is not a commit SHA"),
        # 7 digits are 28 bits: a fork author could forge a commit with that prefix in minutes.
        ("/canon-gate approve abcdef1", "abcdef1 is not a commit SHA"),
        ("/canon-gate approve nothex1", "nothex1 is not a commit SHA"),
    ],
)
async def test_a_malformed_approval_says_what_is_wrong(gate: Gate, body: str, start: str) -> None:
    pull = await open_fork_pull(gate, 65)
    assert await comment(gate, pull, body) == 200
    assert dispatched(gate, 65) == ["false"]
    [answer] = replies(gate, 65)
    assert answer.startswith(start)


async def test_a_reader_cannot_approve(gate: Gate) -> None:
    pull = await open_fork_pull(gate, 66)
    assert await comment(gate, pull, f"/canon-gate approve {pull.head_sha}", user="reader") == 200
    assert dispatched(gate, 66) == ["false"]
    assert "write, maintain or admin" in replies(gate, 66)[0]
