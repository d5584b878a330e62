"""The verdict: what an evaluated audit concludes, as a pure function of report and waivers.

`assess` decides (which findings block, which are waived, new or persisting) and `decide`
renders that decision as a check run (https://docs.github.com/en/rest/checks/runs). Fail closed:
nothing here returns `success` unless the report's session completed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from action.markdown import shorten
from action.render import hints_section, session_figures, tables
from action.report import ErrorKind, Report
from app.judge import outcomes, render
from app.judge.annotations import annotation
from app.judge.checkrun import CheckRunResult, Conclusion
from app.judge.lifecycle import FindingState, Lifecycle
from app.judge.links import Links
from app.judge.render import plural
from app.judge.shown import Shown
from app.ledger.waivers import Waiver

_NO_WAIVERS: Mapping[str, Waiver] = MappingProxyType({})
_NO_LINKS = Links()
_LEVEL_RANK = {"failure": 0, "warning": 1, "notice": 2}
_STATE_RANK = {FindingState.NEW: 0, FindingState.PERSISTING: 1}


@dataclass(frozen=True)
class Verdict:
    """What an evaluated report amounts to, before it is rendered."""

    conclusion: Conclusion
    # Every finding in annotation order, the resolved ones of the previous audit last.
    shown: tuple[Shown, ...]
    # Ids of the unwaived substantive findings: what blocks the merge. Counted here only.
    blocking: tuple[str, ...]
    cosmetic: int
    waived: tuple[str, ...]
    # Substantive findings the verification vote refuted: shown as notices, never blocking.
    refuted: int = 0

    @property
    def current(self) -> tuple[Shown, ...]:
        return tuple(s for s in self.shown if s.state != FindingState.RESOLVED)


def _applies(waiver: Waiver | None, report: Report) -> bool:
    # A waiver never carries to another PR; the caller reads it for this PR already.
    return waiver is not None and (report.run.pr is None or waiver.pr == report.run.pr)


def _order(shown: Shown) -> tuple[int, int, int, str, int, int, str]:
    """Unwaived substantive first, then cosmetic, then waived; new before persisting."""
    loc = shown.finding.location
    return (
        int(shown.state == FindingState.RESOLVED),
        _LEVEL_RANK[shown.level],
        _STATE_RANK.get(shown.state, 2),
        loc.path,
        loc.start_line,
        loc.end_line,
        shown.finding.id,
    )


def assess(report: Report, waivers: Mapping[str, Waiver], lifecycle: Lifecycle | None) -> Verdict:
    """Give each finding its state and waiver, and decide what blocks.

    Waivers decide what is waived (they carry the reason); the lifecycle only tells new from
    persisting and supplies the resolved findings.
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
    ordered = tuple(sorted(shown, key=_order))
    current = [s for s in ordered if s.state != FindingState.RESOLVED]
    blocking = tuple(s.finding.id for s in current if s.blocking)
    return Verdict(
        conclusion="failure" if blocking else "success",
        shown=ordered,
        blocking=blocking,
        cosmetic=sum(1 for s in current if s.waiver is None and not s.finding.substantive),
        waived=tuple(s.finding.id for s in current if s.waiver is not None),
        refuted=sum(1 for s in current if s.waiver is None and s.finding.refuted),
    )


def decide(
    report: Report,
    *,
    waivers: Mapping[str, Waiver] = _NO_WAIVERS,
    lifecycle: Lifecycle | None = None,
    links: Links = _NO_LINKS,
    notes: Sequence[str] = (),
) -> CheckRunResult:
    """Conclude the `canon-gate` check run from a validated report.

    `notes` are extra lines for the summary, e.g. that the config could not be read.
    """
    if report.error is not None:
        return _not_evaluated(report, links, notes)
    judged = assess(report, waivers, lifecycle)
    return render_verdict(report, judged, lifecycle=lifecycle is not None, links=links, notes=notes)


def render_verdict(
    report: Report,
    judged: Verdict,
    *,
    lifecycle: bool,
    links: Links = _NO_LINKS,
    notes: Sequence[str] = (),
) -> CheckRunResult:
    """Render an assessed verdict as the check run's title, summary and annotations."""
    extras = [plural(judged.cosmetic, "cosmetic finding")] if judged.cosmetic else []
    extras += [f"{len(judged.waived)} waived"] if judged.waived else []
    extras += [f"{judged.refuted} refuted by the vote"] if judged.refuted else []
    vote = report.verification
    if vote is not None and vote.unverified:
        notes = (
            *notes,
            f"{plural(vote.unverified, 'substantive finding')} over the vote's limit "
            "(verify: max_findings) went to no vote, and block unverified.",
        )
    if judged.blocking:
        blocking = [s for s in judged.current if s.blocking]
        new = sum(1 for s in blocking if s.state == FindingState.NEW)
        title = f"{plural(len(blocking), 'substantive finding')} to resolve or waive"
        ages = [f"{new} new", f"{len(blocking) - new} persisting"] if lifecycle else []
        line = ", ".join(a for a in ages if not a.startswith("0 "))
        line += (("; also " if line else "") + ", ".join(extras)) if extras else ""
        head = render.headline("❌", f"Failed: {title}" + (f" ({line})" if line else ""))
    else:
        title = "Passed" + (f" with {', '.join(extras)}" if extras else ": no findings")
        head = render.headline("✅", title)
    fixed = [
        head,
        render.notes(notes),
        links.markdown(),
        session_figures(report.run, report.verification),
        hints_section(report.hints),
        render.HELP,
    ]
    budget = render.MAX_SUMMARY - sum(len(p) + 2 for p in fixed) - len(render.SUMMARY_MARKER) - 64
    grouped = render.findings_tables(judged.shown, lifecycle=lifecycle)
    shown_tables = tables(grouped, budget, links.pointer())
    return CheckRunResult(
        conclusion=judged.conclusion,
        title=shorten(title, render.MAX_TITLE),
        summary=render.page([*fixed[:3], shown_tables, *fixed[3:]], links),
        annotations=tuple(annotation(s, links) for s in judged.current),
        blocking=judged.blocking,
    )


def _not_evaluated(report: Report, links: Links, notes: Sequence[str]) -> CheckRunResult:
    """A report whose session did not complete: never success, whatever its findings."""
    error = report.error or ""
    if report.error_kind is ErrorKind.AWAITING_APPROVAL:
        return outcomes.awaiting_approval(report.run.head_sha, links=links)
    if report.error_kind is ErrorKind.NEEDS:
        return outcomes.needs_unmet(error, links=links, notes=notes)
    first_line = error.strip().splitlines()[0] if error.strip() else "error"
    result = outcomes.not_evaluated(
        shorten(first_line, 120), detail=error, links=links, report=report, notes=notes
    )
    if report.error_kind is not None and report.error_kind.needs_action:
        # A person must fix the setup (config, credential): still never success.
        return replace(result, conclusion="action_required")
    return result
