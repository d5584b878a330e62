"""The conclusions that are not a verdict: not evaluated, setup required, superseded, timed out.

Pure, like the verdict: each returns a `CheckRunResult`, and none of them is ever `success`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from action.config import CONFIG_PATH
from action.markdown import fenced, inline, one_line, shorten
from action.render import hints_section, session_figures
from action.report import (
    ACTION_VERSION,
    CALLER_VERSION,
    SUPPORTED_SCHEMA_VERSIONS,
    Report,
    check_name,
)
from app.judge import render
from app.judge.checkrun import CheckRunResult
from app.judge.links import Links

# The audit workflow's file name under `.github/workflows/` (the App's `WORKFLOW_FILE` setting).
DEFAULT_WORKFLOW_FILE = "canon-gate.yml"
_NO_LINKS = Links()


def workflow_path(workflow_file: str) -> str:
    """Where a repository keeps the audit workflow."""
    return f".github/workflows/{workflow_file}"


def not_evaluated(
    reason: str,
    *,
    detail: str | None = None,
    links: Links = _NO_LINKS,
    report: Report | None = None,
    notes: Sequence[str] = (),
) -> CheckRunResult:
    """Conclude `failure` for an audit that did not produce a usable verdict; never success.

    For a workflow run that failed, was cancelled or timed out, a missing or invalid artifact,
    a failed dispatch, or a report whose session did not complete (`report` adds its figures).
    """
    parts = [
        render.headline("⚠️", f"Not evaluated: {reason}"),
        render.notes(notes),
        "The audit did not produce a verdict, so the merge stays blocked. "
        "Press **Re-run** or comment `/canon-gate rerun` to try again.",
        render.detail_block(detail),
        links.markdown(),
        session_figures(report.run) if report is not None else "",
        hints_section(report.hints) if report is not None else "",
    ]
    return CheckRunResult(
        conclusion="failure",
        title=shorten(f"Not evaluated: {reason}", render.MAX_TITLE),
        summary=render.page(parts, links),
    )


def unsupported_schema(
    version: object, *, workflow_file: str = DEFAULT_WORKFLOW_FILE, links: Links = _NO_LINKS
) -> CheckRunResult:
    """Refuse a report whose schema this App cannot read; the client must re-pin the action."""
    workflow = workflow_path(workflow_file)
    known = ", ".join(str(v) for v in sorted(SUPPORTED_SCHEMA_VERSIONS))
    parts = [
        render.headline("⚠️", "Not evaluated: unsupported report schema"),
        f"The audit wrote a report with schema version {version}, and this App reads version "
        f"{known}. Pin the canon-gate action to **{ACTION_VERSION}** in `{workflow}` on the "
        f"default branch (or run `canon-gate init` again to rewrite the workflow), then press "
        "**Re-run** or comment `/canon-gate rerun`.",
        links.markdown(),
    ]
    return CheckRunResult(
        conclusion="action_required",
        title=f"Not evaluated: report schema {version} unsupported; use action {ACTION_VERSION}",
        summary=render.page(parts, links),
    )


def setup_required(
    message: str | None = None,
    *,
    workflow_missing: bool = True,
    status: int | None = None,
    workflow_file: str = DEFAULT_WORKFLOW_FILE,
    links: Links = _NO_LINKS,
) -> CheckRunResult:
    """Conclude `action_required` when the audit workflow is missing or dispatch was refused.

    `message` is the error GitHub gave (quoted verbatim); `status` its HTTP status, if known.
    """
    what = "is not installed" if workflow_missing else "could not be started"
    workflow = workflow_path(workflow_file)
    answer = f" (GitHub answered {status})" if status is not None else ""
    parts = [
        render.headline("🛠️", f"Setup required: the canon-gate audit workflow {what}"),
        f"canon-gate could not dispatch `{workflow}` on the default branch{answer}. "
        "To install the workflow:",
        "1. In a checkout of this repository, run `canon-gate init`. It writes "
        f"`{workflow}` and a starter config `{CONFIG_PATH}`.\n"
        "2. Commit both files to the **default branch**: the workflow that judges a pull "
        "request always comes from there, so a pull request cannot add or change it.\n"
        "3. Add the repository secret `CLAUDE_CODE_OAUTH_TOKEN` (Settings → Secrets and variables "
        "→ Actions) holding the token that `claude setup-token` prints.\n"
        "4. Press **Re-run** here, or comment `/canon-gate rerun` on the pull request.",
        "The error GitHub gave:" if message else "",
        render.detail_block(message),
        links.markdown(),
    ]
    return CheckRunResult(
        conclusion="action_required",
        title="Setup required: install the canon-gate workflow",
        summary=render.page(parts, links),
    )


def superseded(newer_sha: str) -> CheckRunResult:
    """Conclude `cancelled` for a run that a newer push replaced."""
    sha = inline(shorten(newer_sha, 40))
    return CheckRunResult(
        conclusion="cancelled",
        title=f"Superseded by {one_line(newer_sha)[:7]}",
        summary=render.page(
            [
                render.headline("⏭️", "Superseded"),
                f"A newer commit ({sha}) was pushed; its audit replaces this one.",
            ],
            _NO_LINKS,
        ),
    )


def duplicate(kept_check_run_id: int) -> CheckRunResult:
    """Conclude `cancelled` for a duplicate created by a race between replicas."""
    return CheckRunResult(
        conclusion="cancelled",
        title="Duplicate run",
        summary=render.page(
            [
                render.headline("⏭️", "Duplicate"),
                f"Check run {kept_check_run_id} audits this commit; this one was a duplicate.",
            ],
            _NO_LINKS,
        ),
    )


def overdue(
    limit: timedelta, started_at: datetime | None = None, *, links: Links = _NO_LINKS
) -> CheckRunResult:
    """Conclude `timed_out` for an audit whose workflow never reported back within `limit`."""
    minutes = max(int(limit.total_seconds() // 60), 1)
    since = f" (started {started_at.isoformat(timespec='seconds')})" if started_at else ""
    parts = [
        render.headline("⏱️", "Timed out"),
        f"The audit workflow{since} did not report back within {minutes} minutes, so this "
        "run was not evaluated and the merge stays blocked. Press **Re-run** or comment "
        "`/canon-gate rerun` to try again.",
        links.markdown(),
    ]
    return CheckRunResult(
        conclusion="timed_out",
        title=f"Not evaluated: no result within {minutes} minutes",
        summary=render.page(parts, links),
    )


def awaiting_approval(head_sha: str | None = None, *, links: Links = _NO_LINKS) -> CheckRunResult:
    """Conclude `action_required` for a fork PR that waits for a maintainer's approval.

    The approval names the head the maintainer reviewed, so a push after the review needs a new
    one: `/canon-gate approve <sha>`.
    """
    command = f"/canon-gate approve {head_sha}" if head_sha else "/canon-gate approve <head-sha>"
    parts = [
        render.headline("✋", "Waiting for a maintainer"),
        "This pull request comes from a fork. Before the audit session reads it, someone with "
        "write access must review the change and approve the commit they reviewed, in a comment "
        "on the pull request:",
        fenced(command, "text"),
        "A push after the approval needs a new one, for the new head.",
        links.markdown(),
    ]
    return CheckRunResult(
        conclusion="action_required",
        title="Waiting for a maintainer's /canon-gate approve",
        summary=render.page(parts, links),
    )


def session_limit(spent: int, limit: int, *, links: Links = _NO_LINKS) -> CheckRunResult:
    """Conclude `action_required` when a head has started all the sessions it may."""
    parts = [
        render.headline("✋", "Not evaluated: this commit has used its audit sessions"),
        f"This commit has already started {spent} audit sessions, and "
        f"`limits.sessions_per_head` in `{CONFIG_PATH}` allows {limit}. Each session is paid "
        "for, so no more start by themselves: push a new commit, or raise the limit on the "
        "default branch and press **Re-run**. The merge stays blocked until an audit passes.",
        links.markdown(),
    ]
    return CheckRunResult(
        conclusion="action_required",
        title=f"Not evaluated: {spent} of {limit} sessions used for this commit",
        summary=render.page(parts, links),
    )


def not_in_scope(
    gate: str, *, links: Links = _NO_LINKS, notes: Sequence[str] = ()
) -> CheckRunResult:
    """Conclude `neutral` for a gate whose paths the change does not touch: no session ran.

    Not a fail-open: the gate's paths come from the base branch's config, which the pull request
    cannot change; and `neutral` is not `success`.
    """
    name = inline(check_name(gate))
    parts = [
        render.headline("⚪", f"Not in scope: {check_name(gate)}"),
        render.notes(notes),
        f"This change touches none of the paths {name} audits (its `paths` and `exclude` in "
        f"`{CONFIG_PATH}` on the base branch), so no session ran and none was paid for.",
        links.markdown(),
    ]
    return CheckRunResult(
        conclusion="neutral",
        title=f"Not in scope: the change touches none of {check_name(gate)}'s paths",
        summary=render.page(parts, links),
    )


def caller_notes(caller_version: int | None) -> tuple[str, ...]:
    """A note when the repository's workflow is older than the one `canon-gate init` writes."""
    if caller_version is not None and caller_version >= CALLER_VERSION:
        return ()
    theirs = f"version {caller_version}" if caller_version is not None else "an older version"
    return (
        f"This repository's canon-gate workflow is {theirs}; `canon-gate init --force` writes "
        f"version {CALLER_VERSION}. Update it on the default branch to get what changed.",
    )


# A gate that needs another: it reads this title prefix on its need's run to re-run itself.
NOT_RUN_PREFIX = "Not run: "


def needs_unmet(
    reason: str, *, links: Links = _NO_LINKS, notes: Sequence[str] = ()
) -> CheckRunResult:
    """Conclude `action_required` for a gate whose needs did not pass: no session was paid for.

    `reason` is the runner's, e.g. "`structure` failed; fix that first". It runs again by itself
    once the need passes (a re-run of the need, or a waiver of its findings).
    """
    said = one_line(reason) or "a gate it needs did not pass"
    parts = [
        render.headline("⏸️", NOT_RUN_PREFIX + said),
        render.notes(notes),
        "This gate needs another check to pass before its session is paid for, and that check "
        "did not pass. Fix what it found (or waive it): this gate then runs by itself.",
        links.markdown(),
    ]
    return CheckRunResult(
        conclusion="action_required",
        title=shorten(NOT_RUN_PREFIX + said, render.MAX_TITLE),
        summary=render.page(parts, links),
    )


# An advisory verdict's title begins so: the aggregate reads it as the failure it would be.
WOULD_HAVE_FAILED = "Would have failed: "


def advisory(result: CheckRunResult) -> CheckRunResult:
    """A failing verdict in `mode: advisory`: neutral, saying it would have failed; the same
    annotations, so the findings are seen, but nothing blocks while the gate rolls out."""
    if result.conclusion != "failure":
        return result
    note = (
        "Advisory mode: this verdict would have failed the check. It concludes neutral while "
        f"`mode: advisory` is set in `{CONFIG_PATH}`; set `mode: enforce` to let it block."
    )
    title = shorten(WOULD_HAVE_FAILED + result.title, render.MAX_TITLE)
    return replace(result, conclusion="neutral", title=title).with_note(note)


def daily_cap(spent: int, cap: int, resets_at: datetime) -> CheckRunResult:
    """Conclude `action_required` when the repository has started its sessions for the day."""
    when = resets_at.strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        render.headline("✋", "Not evaluated: the repository's daily session cap is reached"),
        f"This repository has started {spent} audit sessions today (UTC), and "
        f"`limits.daily_sessions` in `{CONFIG_PATH}` allows {cap}. No more start until the count "
        f"resets at {when}; then press **Re-run**, or raise the cap on the default branch. The "
        "merge stays blocked until an audit passes.",
    ]
    return CheckRunResult(
        conclusion="action_required",
        title=f"Not evaluated: {spent} of {cap} daily sessions used; resets {when}",
        summary=render.page(parts, _NO_LINKS),
    )
