"""Merge groups: which pull request a group adds, whether its verdict may be reused, and the
check runs a group gets. Pure: the handler reads the runs and writes what this returns.

A merge queue waits for every required check on the group's own commit; a check that never
reports there stalls it until the queue's timeout. So a group gets the same checks a pull request
gets (`canon-gate`, each gate's, `canon-gate/structure`), and every path concludes them.
https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/configuring-pull-request-merges/managing-a-merge-queue
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from action.markdown import inline, shorten
from action.report import STRUCTURE, check_name
from app.events import CheckRun
from app.judge import render
from app.judge.checkrun import CheckRunResult, Conclusion
from app.judge.correlate import parse_external_id
from app.judge.gates import GateVerdict, aggregate
from app.judge.links import Links

_NO_LINKS = Links()
# The queue's temporary branches: `gh-readonly-queue/<base branch>/pr-<number>-<base sha>`.
QUEUE_PREFIX = "gh-readonly-queue/"
_QUEUE_REF = re.compile(
    r"^(?:refs/heads/)?gh-readonly-queue/.+/pr-(?P<pr>[1-9][0-9]{0,9})-[0-9a-f]{40}(?:[0-9a-f]{24})?$"
)
# A reused verdict: evaluated and passing, or a gate the change is not in scope of.
_REUSABLE: frozenset[str] = frozenset({"success", "neutral"})


def pr_of_group(head_ref: str) -> int | None:
    """The pull request a group adds, read from its head ref; None for any other form.

    GitHub names the group's branch after the pull request it adds (the last of the group, when
    it holds several): `refs/heads/gh-readonly-queue/main/pr-104-<sha>`.
    """
    match = _QUEUE_REF.match(head_ref)
    return int(match["pr"]) if match else None


def is_queue_branch(branch: str | None) -> bool:
    """Whether a branch (as `check_suite.head_branch` names it) is a merge queue's."""
    return bool(branch) and str(branch).removeprefix("refs/heads/").startswith(QUEUE_PREFIX)


@dataclass(frozen=True)
class Reused:
    """One check on the pull request's head whose verdict stands for the group."""

    # A gate's name, or `structure`.
    gate: str
    run: CheckRun


@dataclass(frozen=True)
class Reuse:
    """The verdicts to reuse (every gate's and the structure check's), or why there are none."""

    reused: tuple[Reused, ...] = ()
    reason: str | None = None


def _newest(runs: Sequence[CheckRun], name: str, pr: int, key: str) -> CheckRun | None:
    """The pull request's newest run of `name` judged under the governance key `key`."""
    for run in runs:  # newest first
        found = parse_external_id(run.external_id)
        if (
            run.name == name
            and found is not None
            and found.pr == pr
            and not found.group
            and found.governance == key != ""
        ):
            return run
    return None


def reuse(
    runs: Sequence[CheckRun],
    gates: Sequence[str],
    *,
    pr: int,
    keys: Mapping[str, str],
    structure_key: str,
) -> Reuse:
    """Decide whether the group may reuse the pull request's verdicts.

    `runs` are the App's runs on the pull request's current head, newest first; `keys` each
    gate's governance key at the group's base, and `structure_key` the structure check's. Each
    gate, and the structure check, must have passed there under exactly that key: the same head,
    judged against the same config and canon, waivers included (a waiver's verdict is a newer
    run under the same key). Anything else is audited.
    """
    wanted = [(gate, check_name(gate), keys.get(gate, "")) for gate in gates]
    wanted.append((STRUCTURE, check_name(STRUCTURE), structure_key))
    reused = []
    for gate, name, key in wanted:
        run = _newest(runs, name, pr, key)
        if run is None:
            return Reuse(
                reason=f"`{name}` has no verdict on the head under this base's config and canon"
            )
        if run.status != "completed" or run.conclusion not in _REUSABLE:
            said = run.conclusion or run.status
            return Reuse(reason=f"`{name}` did not pass on the head ({said})")
        reused.append(Reused(gate, run))
    return Reuse(tuple(reused))


def _conclusion(run: CheckRun) -> Conclusion:
    return "neutral" if run.conclusion == "neutral" else "success"


def reused_result(
    item: Reused, *, pr: int, head_sha: str, record_url: str | None
) -> CheckRunResult:
    """A group's check concluded from the pull request's verdict, citing it; no session ran."""
    name = check_name(item.gate)
    said = item.run.output.title or item.run.conclusion or ""
    title = shorten(f"Reused from #{pr}: {said}", render.MAX_TITLE)
    shown = (
        f"[check run {item.run.id}]({item.run.html_url})"
        if item.run.html_url
        else (f"check run {item.run.id}")
    )
    record = (
        f" Its ledger record: [{inline(record_url.rsplit('/', 1)[-1])}]({record_url})."
        if (record_url)
        else ""
    )
    parts = [
        render.headline("♻️", title),
        f"This merge group adds pull request #{pr}. Its `{name}` verdict on its head "
        f"`{head_sha[:7]}`, {shown}, was judged under the same config and canon as this group's "
        f"base, waivers included, so it stands for the group and no session ran.{record}",
        "Set `merge_queue: audit` in the config to audit every group's own change instead.",
    ]
    return CheckRunResult(_conclusion(item.run), title, render.page(parts, _NO_LINKS))


def reused_aggregate(reused: Sequence[Reused], *, pr: int) -> CheckRunResult:
    """The group's `canon-gate` over reused gate verdicts (a repository with `gates`)."""
    verdicts = [
        GateVerdict(r.gate, r.run.conclusion, r.run.output.title or "", r.run.html_url)
        for r in reused
        if r.gate != STRUCTURE
    ]
    return aggregate(verdicts).with_note(
        f"Reused from pull request #{pr}: each gate passed on its head under this group's "
        "config and canon, so no session ran for the group."
    )


def unknown_pull(head_ref: str) -> CheckRunResult:
    """Conclude `action_required`: the group's branch does not say which pull request it adds."""
    parts = [
        render.headline("❓", "Not evaluated: which pull request does this merge group add?"),
        f"The merge group's branch `{inline(shorten(head_ref, 200))}` is not in GitHub's "
        "`gh-readonly-queue/<branch>/pr-<number>-<sha>` form, so canon-gate cannot tell which "
        "pull request it adds: it can neither reuse that pull request's verdict nor apply its "
        "waivers, and it does not audit a change it cannot attribute. The merge stays blocked; "
        "add the pull request to the queue again.",
    ]
    return CheckRunResult(
        conclusion="action_required",
        title="Not evaluated: the merge group names no pull request",
        summary=render.page(parts, _NO_LINKS),
    )


def group_ended(reason: str | None) -> CheckRunResult:
    """Conclude `cancelled` a group's check still open when the queue destroyed the group."""
    why = {
        "merged": "it was merged",
        "dequeued": "its pull request left the queue",
        "invalidated": "a pull request ahead of it left the queue",
    }.get(reason or "", "the merge queue destroyed it")
    parts = [
        render.headline("⏹️", "Merge group ended"),
        f"The merge queue ended this group ({why}), so this check was stopped before a "
        "verdict. Nothing more runs for it; a new group gets its own checks.",
    ]
    return CheckRunResult(
        conclusion="cancelled",
        title=shorten(f"Merge group ended: {why}", render.MAX_TITLE),
        summary=render.page(parts, _NO_LINKS),
    )
