"""Canon changes: which open pull requests a push to the default branch re-judges, which it marks.

Pure. A verdict holds while its head and the governance key of its base are unchanged; a push
that changes the key leaves every passing verdict judged under the old one standing in branch
protection. With `reaudit_on_canon_change` on, the newest of those pull requests get a new audit
(at most `max_per_push`), and the rest a new `canon-gate` run that says the verdict predates the
change. Each is keyed on the push, so a pass that stopped half-way, or another replica, finds
what was done and carries on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from action.markdown import inline, shorten
from app.events import CheckRun
from app.judge import render
from app.judge.checkrun import CheckRunResult
from app.judge.correlate import parse_external_id
from app.judge.links import Links

_NO_LINKS = Links()
_PASSED = frozenset({"success", "neutral"})
_NO_COMMIT = "0" * 40


def push_tag(after_sha: str) -> str:
    """The part of the triggers that names one push: its new commit, shortened."""
    return after_sha[:12]


def audit_trigger(after_sha: str) -> str:
    return f"reaudit-{push_tag(after_sha)}"


def mark_trigger(after_sha: str) -> str:
    return f"stale-{push_tag(after_sha)}"


def worth_comparing(ref: str, before: str, after: str, default_branch: str) -> bool:
    """Only a push that moves the default branch from one commit to another can change what
    governs its pull requests."""
    return ref == f"refs/heads/{default_branch}" and _NO_COMMIT not in (before, after)


@dataclass(frozen=True)
class OpenPull:
    """One open pull request into the default branch, and the App's `canon-gate` runs on its
    head (newest first)."""

    number: int
    head_sha: str
    runs: Sequence[CheckRun] = ()


@dataclass(frozen=True)
class Plan:
    audit: list[OpenPull] = field(default_factory=list)
    mark: list[OpenPull] = field(default_factory=list)


def stale(pull: OpenPull, key_now: str) -> bool:
    """Whether the pull request's newest verdict passed under a governance key other than now's."""
    for run in pull.runs:  # newest first
        key = parse_external_id(run.external_id)
        if key is None or key.pr != pull.number or key.group:
            continue
        # The newest run decides: an audit running, or a verdict that did not pass, stands.
        passed = run.status == "completed" and run.conclusion in _PASSED
        return passed and key.governance != key_now
    return False


def plan(pulls: Sequence[OpenPull], *, key_now: str, after_sha: str, max_per_push: int) -> Plan:
    """Choose, newest pull request first, which to audit again and which to mark.

    `pulls` are newest first. A pull request already handled for this push (a run carries its
    trigger) counts towards `max_per_push` if it was audited, and is left alone.
    """
    audited, marked = audit_trigger(after_sha), mark_trigger(after_sha)

    def handled(pull: OpenPull) -> str | None:
        for run in pull.runs:
            key = parse_external_id(run.external_id)
            if key is not None and key.pr == pull.number and key.trigger in (audited, marked):
                return key.trigger
        return None

    started = sum(1 for p in pulls if handled(p) == audited)
    chosen = Plan()
    for pull in pulls:
        if handled(pull) is not None or not stale(pull, key_now):
            continue
        if started < max_per_push:
            chosen.audit.append(pull)
            started += 1
        else:
            chosen.mark.append(pull)
    return chosen


def predates_change(after_sha: str, default_branch: str) -> CheckRunResult:
    """Conclude `action_required`: the verdict was judged against canon the branch no longer has."""
    branch = inline(default_branch)
    parts = [
        render.headline("🔁", "Verdict predates a canon change"),
        f"A push to `{branch}` ({after_sha[:7]}) changed the config or canon that govern this "
        "pull request, and its passing verdict was judged against the old ones. Press "
        "**Re-run** or comment `/canon-gate rerun` to audit it against what governs now.",
        "This repository re-judges a limited number of pull requests per push by itself "
        "(`reaudit_on_canon_change.max_per_push`); this one was past that limit.",
    ]
    return CheckRunResult(
        conclusion="action_required",
        title=shorten(
            f"Verdict predates a canon change on {default_branch}; re-run to re-judge",
            render.MAX_TITLE,
        ),
        summary=render.page(parts, _NO_LINKS),
    )
