"""The verdict: what a check run concludes and says, as a pure function of report and waivers.

No I/O. Handlers fetch the report, waivers and lifecycle, call one of these functions and send
`CheckRunResult.payloads()` (https://docs.github.com/en/rest/checks/runs#update-a-check-run).
Fail closed: nothing here returns `success` unless a report validated and its session completed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from types import MappingProxyType

from action.report import ACTION_VERSION, SUPPORTED_SCHEMA_VERSIONS, ErrorKind, Report
from app.judge import render
from app.judge.annotations import Annotation, annotation, structure_annotation
from app.judge.checkrun import RERUN, RERUN_BUTTON, Action, CheckRunResult, Conclusion
from app.judge.lifecycle import FindingState, Lifecycle
from app.judge.markdown import inline, one_line, shorten
from app.judge.render import Links, Shown
from app.ledger.records import Waiver

__all__ = [
    "RERUN",
    "RERUN_BUTTON",
    "Action",
    "Annotation",
    "CheckRunResult",
    "Conclusion",
    "Links",
    "awaiting_approval",
    "decide",
    "duplicate",
    "judge",
    "not_evaluated",
    "overdue",
    "setup_required",
    "structure_result",
    "superseded",
]

WORKFLOW_PATH = ".github/workflows/canon-gate.yml"
CONFIG_PATH = ".github/canon-gate.yml"
_NO_WAIVERS: Mapping[str, Waiver] = MappingProxyType({})
_NO_LINKS = Links()


def _applies(waiver: Waiver | None, report: Report) -> bool:
    # A waiver never carries to another PR (issue 4); the caller reads it for this PR already.
    return waiver is not None and (report.run.pr is None or waiver.pr == report.run.pr)


def judge(
    report: Report, waivers: Mapping[str, Waiver], lifecycle: Lifecycle | None
) -> list[Shown]:
    """Give each finding its state and waiver, in annotation order.

    Unwaived substantive first, then cosmetic, then waived; within each, new before persisting,
    then path and line. Waivers decide what is waived (they carry the reason); the lifecycle
    only tells new from persisting and supplies the resolved findings.
    """
    shown: list[Shown] = []
    for finding in report.findings:
        waiver = waivers.get(finding.id)
        if _applies(waiver, report):
            shown.append(Shown(finding, FindingState.WAIVED, waiver))
            continue
        state = lifecycle.state_of(finding.id) if lifecycle is not None else None
        persisting = state == FindingState.PERSISTING
        shown.append(Shown(finding, FindingState.PERSISTING if persisting else FindingState.NEW))
    if lifecycle is not None:
        shown += [Shown(f, FindingState.RESOLVED) for f in lifecycle.resolved]
    rank = {"failure": 0, "warning": 1, "notice": 2}
    states = {FindingState.NEW: 0, FindingState.PERSISTING: 1}

    def key(s: Shown) -> tuple[int, int, int, str, int, int, str]:
        loc = s.finding.location
        resolved = s.state == FindingState.RESOLVED
        return (
            int(resolved),
            rank[s.level],
            states.get(s.state, 2),
            loc.path,
            loc.start_line,
            loc.end_line,
            s.finding.id,
        )

    return sorted(shown, key=key)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def decide(
    report: Report,
    *,
    waivers: Mapping[str, Waiver] = _NO_WAIVERS,
    lifecycle: Lifecycle | None = None,
    links: Links = _NO_LINKS,
    notes: Sequence[str] = (),
) -> CheckRunResult:
    """Conclude the `canon-gate` check run from a validated report.

    `notes` are extra lines for the summary, e.g. that the ledger record could not be written.
    """
    if report.schema_version not in SUPPORTED_SCHEMA_VERSIONS:
        return unsupported_schema(report.schema_version, links=links)
    if report.error is not None:
        if report.error_kind is ErrorKind.AWAITING_APPROVAL:
            return awaiting_approval(links=links)
        first_line = report.error.strip().splitlines()[0] if report.error.strip() else "error"
        result = not_evaluated(
            shorten(first_line, 120),
            detail=report.error,
            links=links,
            report=report,
            notes=notes,
        )
        if report.error_kind is not None and report.error_kind.needs_action:
            # A person must fix the setup (config, credential): still never success.
            return replace(result, conclusion="action_required")
        return result
    shown = judge(report, waivers, lifecycle)
    current = [s for s in shown if s.state != FindingState.RESOLVED]
    blocking = [s for s in current if s.blocking]
    cosmetic = sum(1 for s in current if s.waiver is None and not s.finding.substantive)
    waived = sum(1 for s in current if s.waiver is not None)
    extras = [_plural(cosmetic, "cosmetic finding")] if cosmetic else []
    extras += [f"{waived} waived"] if waived else []
    if blocking:
        new = sum(1 for s in blocking if s.state == FindingState.NEW)
        title = f"{_plural(len(blocking), 'substantive finding')} to resolve or waive"
        ages = [f"{new} new", f"{len(blocking) - new} persisting"] if lifecycle is not None else []
        line = ", ".join(a for a in ages if not a.startswith("0 "))
        line += (("; also " if line else "") + ", ".join(extras)) if extras else ""
        conclusion: Conclusion = "failure"
        head = render.headline("❌", f"Failed: {title}" + (f" ({line})" if line else ""))
    else:
        title = "Passed" + (f" with {', '.join(extras)}" if extras else ": no findings")
        conclusion = "success"
        head = render.headline("✅", title)
    fixed = [
        head,
        render.notes(notes),
        links.markdown(),
        render.session_figures(report.run),
        render.hints_section(report.hints),
        render.HELP,
    ]
    budget = render.MAX_SUMMARY - sum(len(p) + 2 for p in fixed) - len(render.SUMMARY_MARKER) - 64
    tables = render.tables(
        render.findings_tables(shown, lifecycle=lifecycle is not None), budget, links
    )
    summary = render.page([*fixed[:3], tables, *fixed[3:]], links)
    return CheckRunResult(
        conclusion=conclusion,
        title=shorten(title, render.MAX_TITLE),
        summary=summary,
        annotations=tuple(annotation(s, links) for s in current),
        blocking=tuple(s.finding.id for s in blocking),
    )


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
        render.session_figures(report.run) if report is not None else "",
        render.hints_section(report.hints) if report is not None else "",
    ]
    return CheckRunResult(
        conclusion="failure",
        title=shorten(f"Not evaluated: {reason}", render.MAX_TITLE),
        summary=render.page(parts, links),
    )


def unsupported_schema(version: int, *, links: Links = _NO_LINKS) -> CheckRunResult:
    """Refuse a report whose schema this App cannot read; the client must re-pin the action."""
    known = ", ".join(str(v) for v in sorted(SUPPORTED_SCHEMA_VERSIONS))
    parts = [
        render.headline("⚠️", "Not evaluated: unsupported report schema"),
        f"The audit wrote a report with schema version {version}, and this App reads version "
        f"{known}. Pin the canon-gate action to **{ACTION_VERSION}** in `{WORKFLOW_PATH}` on the "
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
    links: Links = _NO_LINKS,
) -> CheckRunResult:
    """Conclude `action_required` when the audit workflow is missing or dispatch was refused.

    `message` is the error GitHub gave (quoted verbatim); `status` its HTTP status, if known.
    """
    what = "is not installed" if workflow_missing else "could not be started"
    answer = f" (GitHub answered {status})" if status is not None else ""
    parts = [
        render.headline("🛠️", f"Setup required: the canon-gate audit workflow {what}"),
        f"canon-gate could not dispatch `{WORKFLOW_PATH}` on the default branch{answer}. "
        "To install the workflow:",
        "1. In a checkout of this repository, run `canon-gate init`. It writes "
        f"`{WORKFLOW_PATH}` and a starter config `{CONFIG_PATH}`.\n"
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


def awaiting_approval(*, links: Links = _NO_LINKS) -> CheckRunResult:
    """Conclude `action_required` for a fork PR that waits for a maintainer's approval."""
    parts = [
        render.headline("✋", "Waiting for a maintainer"),
        "This pull request comes from a fork. Before the audit session reads it, someone with "
        "write access must comment `/canon-gate rerun` on the pull request (or press **Re-run**).",
        links.markdown(),
    ]
    return CheckRunResult(
        conclusion="action_required",
        title="Waiting for a maintainer's /canon-gate rerun",
        summary=render.page(parts, links),
    )


def structure_result(report: Report, *, links: Links = _NO_LINKS) -> CheckRunResult | None:
    """Conclude the separate `canon-gate/structure` check run, or None when it did not run.

    None also for a report whose schema this App cannot read: the main check says so.
    """
    problems = report.structure
    if problems is None or report.schema_version not in SUPPORTED_SCHEMA_VERSIONS:
        return None
    if not problems:
        title = "Canon structure: no problems"
        parts = [render.headline("✅", title)]
        return CheckRunResult("success", title, render.page(parts, links))
    ordered = sorted(problems, key=lambda p: (p.path, p.line, p.rule))
    title = f"Canon structure: {_plural(len(ordered), 'problem')}"
    head = render.headline("❌", title)
    intro = "Canon frontmatter in the files this pull request changes breaks the canon schema."
    budget = render.MAX_SUMMARY - len(head) - len(intro) - 128
    table = render.tables([render.structure_table(ordered)], budget, links)
    return CheckRunResult(
        conclusion="failure",
        title=title,
        summary=render.page([head, intro, table, links.markdown()], links),
        annotations=tuple(structure_annotation(p, links) for p in ordered),
    )
