"""Render check run annotations: GitHub's annotation objects for findings and structure problems.

Messages are plain text (GitHub shows them verbatim, not as markdown), cut to 64 KB
(https://docs.github.com/en/rest/checks/runs#update-a-check-run).
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

from action.markdown import ELLIPSIS, cut_bytes, fenced, shorten
from action.render import kind_label
from action.report import Finding, StructureProblem
from app.judge.links import Links
from app.judge.render import MAX_NOTE, MAX_TITLE
from app.judge.shown import Level, Shown

# GitHub allows 64 KB per annotation message and raw_details; stay a little under, in bytes.
MAX_MESSAGE_BYTES = 64_000
MAX_QUOTE = 4_000


class Annotation(TypedDict):
    """GitHub's check run annotation object."""

    path: str
    start_line: int
    end_line: int
    annotation_level: Level
    title: str
    message: str
    raw_details: NotRequired[str]


def annotation_title(finding: Finding) -> str:
    return shorten(
        f"[{finding.classification.value}] {kind_label(finding)}: {finding.claim}", MAX_TITLE
    )


def annotation_message(shown: Shown, links: Links) -> str:
    """Write the claim, the evidence quotes, the canon relied on and the suggested fix."""
    finding = shown.finding
    parts: list[str] = []
    if shown.waiver is not None:
        waiver = shown.waiver
        parts.append(f"Waived by {waiver.user}: {shorten(waiver.reason, MAX_NOTE)}")
    vote = finding.verification
    if vote is not None:
        said = "Refuted" if vote.refuted else "Confirmed"
        lines = [f"{said} by the verification vote ({vote.refutes} of {len(vote.votes)} refute):"]
        lines += [
            f"- {v.verdict}"
            + (" (the verifier failed; counted as confirm)" if v.failed else "")
            + (f": {shorten(v.reason, MAX_NOTE)}" if v.reason else "")
            for v in vote.votes
        ]
        parts.append("\n".join(lines))
    # Anything longer than the whole message would be cut anyway; trim early to bound the work.
    parts.append(finding.claim[:MAX_MESSAGE_BYTES].strip())
    if finding.evidence:
        lines = ["Evidence:"]
        for item in finding.evidence:
            where = item.source + (f" line {item.line}" if item.line else "")
            where += f" @ {item.commit[:12]}" if item.commit else ""
            where += "" if item.verified else " (unverified)"
            quote = item.quote
            if len(quote) > MAX_QUOTE:
                quote = quote[:MAX_QUOTE] + ELLIPSIS
            lines.append(f"- {where}:")
            lines.extend(f"    > {line}" for line in quote.splitlines() or [""])
        parts.append("\n".join(lines))
    if finding.canon:
        parts.append("Canon: " + ", ".join(finding.canon))
    fix = finding.suggested_fix
    if fix is not None:
        fix_text = f"Suggested fix: {fix.description[:MAX_MESSAGE_BYTES].strip()}"
        if fix.replacement:
            fix_text += "\n" + fenced(fix.replacement[:MAX_MESSAGE_BYTES])
        parts.append(fix_text)
    parts.append(f"Finding {finding.id}. To waive: /canon-gate waive {finding.id} <reason>")
    return cut_bytes("\n\n".join(parts), MAX_MESSAGE_BYTES, links.pointer())


def annotation(shown: Shown, links: Links) -> Annotation:
    loc = shown.finding.location
    return Annotation(
        path=loc.path,
        start_line=loc.start_line,
        end_line=loc.end_line,
        annotation_level=shown.level,
        title=annotation_title(shown.finding),
        message=annotation_message(shown, links),
    )


def structure_annotation(problem: StructureProblem, links: Links) -> Annotation:
    return Annotation(
        path=problem.path,
        start_line=problem.line,
        end_line=problem.line,
        annotation_level="failure",
        title=shorten(f"[structure] {problem.rule}", MAX_TITLE),
        message=cut_bytes(problem.message, MAX_MESSAGE_BYTES, links.pointer()),
    )
