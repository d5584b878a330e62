"""The pure decisions behind merge queues, canon changes and missing grants (issue 12)."""

from __future__ import annotations

import pytest
from fakes.github import load_example

from app.events import CheckRun, CheckRunOutput
from app.judge import canon_change, permissions
from app.judge.correlate import AuditKey
from app.judge.merge_queue import is_queue_branch, pr_of_group, reuse

HEAD, BASE, KEY = "a" * 40, "b" * 40, "gk1-" + "c" * 16


@pytest.mark.parametrize(
    ("head_ref", "pr"),
    [
        (load_example("merge_group.checks_requested")["merge_group"]["head_ref"], 104),
        ("refs/heads/gh-readonly-queue/release/2.x/pr-7-" + "d" * 40, 7),
        ("gh-readonly-queue/main/pr-12-" + "d" * 40, 12),
        ("refs/heads/gh-readonly-queue/main/pr-x-" + "d" * 40, None),
        ("refs/heads/gh-readonly-queue/main/pr-12", None),
        ("refs/heads/feature/pr-12-" + "d" * 40, None),
        ("refs/heads/gh-readonly-queue/main/pr-0-" + "d" * 40, None),
    ],
)
def test_the_pull_request_a_group_adds_is_read_from_its_ref(head_ref: str, pr: int | None) -> None:
    assert pr_of_group(head_ref) == pr


def test_queue_branches_are_told_apart() -> None:
    assert is_queue_branch("gh-readonly-queue/main/pr-1-" + "d" * 40)
    assert not is_queue_branch("main")
    assert not is_queue_branch(None)


def run(
    id: int,
    name: str = "canon-gate",
    *,
    pr: int = 5,
    conclusion: str | None = "success",
    key: str = KEY,
    group: str = "",
    trigger: str = "",
    gate: str = "",
) -> CheckRun:
    external = AuditKey(pr, HEAD, BASE, governance=key, group=group, trigger=trigger, gate=gate)
    return CheckRun(
        id=id,
        name=name,
        head_sha=HEAD,
        status="completed" if conclusion else "in_progress",
        conclusion=conclusion,
        external_id=external.external_id,
        output=CheckRunOutput(title="Passed"),
    )


def test_reuse_needs_every_check_passed_under_the_groups_key() -> None:
    keys = {"canon-gate": KEY}
    passed = [run(2), run(3, "canon-gate/structure", conclusion="neutral")]
    assert [
        r.run.id for r in reuse(passed, ["canon-gate"], pr=5, keys=keys, structure_key=KEY).reused
    ] == [2, 3]
    # The newest verdict under the key counts: a waiver's recomputed run, an unwaive's.
    failed_after = [run(4, conclusion="failure"), *passed]
    assert reuse(failed_after, ["canon-gate"], pr=5, keys=keys, structure_key=KEY).reason
    # Another key (the canon changed), another PR, a group's run, or a run still going: audit.
    for runs in (
        [run(2, key="gk1-" + "e" * 16), passed[1]],
        [run(2, pr=6), passed[1]],
        [run(2, group="refs/heads/gh-readonly-queue/main/pr-5-" + BASE), passed[1]],
        [run(2, conclusion=None), passed[1]],
        [run(2)],
    ):
        decision = reuse(runs, ["canon-gate"], pr=5, keys=keys, structure_key=KEY)
        assert decision.reason is not None
        assert not decision.reused


def test_missing_grants_name_the_event_and_the_permission() -> None:
    full = {"contents": "write", "merge_queues": "read"}
    assert permissions.missing(full, ["merge_group", "push"]) == []
    [queue] = permissions.missing({"contents": "write"}, ["push"])
    assert (queue.need, queue.event, queue.permission) == (permissions.MERGE_QUEUE, True, True)
    assert queue.describe() == (
        "For merge queues, this installation lacks the Merge queues repository permission "
        "(read) and the `merge_group` event."
    )
    [push] = permissions.missing(full, ["merge_group"])
    assert (push.need.event, push.event, push.permission) == ("push", True, False)
    result = permissions.permissions_required(
        [push], what="this check", installation_url="https://github.com/x/settings/installations/1"
    )
    assert result.conclusion == "action_required"
    assert "https://github.com/x/settings/installations/1" in result.summary


def pull(number: int, *runs: CheckRun) -> canon_change.OpenPull:
    return canon_change.OpenPull(number, HEAD, runs)


def test_a_canon_change_audits_the_newest_stale_and_marks_the_rest() -> None:
    old, now, after = KEY, "gk1-" + "f" * 16, "1" * 40
    pulls = [
        pull(9, run(90, pr=9, key=old)),
        pull(8, run(80, pr=8, conclusion="failure", key=old)),  # did not pass: stands
        pull(7, run(70, pr=7, key=now)),  # judged under what governs now
        pull(6, run(60, pr=6, conclusion=None, key=old)),  # an audit is running
        pull(5, run(50, pr=5, key=old)),
        pull(4, run(40, pr=4, key=old)),
        pull(3),  # never audited
    ]
    chosen = canon_change.plan(pulls, key_now=now, after_sha=after, max_per_push=2)
    assert [p.number for p in chosen.audit] == [9, 5]
    assert [p.number for p in chosen.mark] == [4]
    # Half-way through (PR 9 audited, the pass stopped): the count carries on, nothing twice.
    pulls[0] = pull(9, run(91, pr=9, conclusion=None, key=now, trigger=f"reaudit-{after[:12]}"))
    chosen = canon_change.plan(pulls, key_now=now, after_sha=after, max_per_push=2)
    assert ([p.number for p in chosen.audit], [p.number for p in chosen.mark]) == ([5], [4])
    assert canon_change.worth_comparing("refs/heads/main", BASE, after, "main")
    assert not canon_change.worth_comparing("refs/heads/dev", BASE, after, "main")
    assert not canon_change.worth_comparing("refs/heads/main", "0" * 40, after, "main")
