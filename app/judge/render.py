"""Render a check run's summary markdown within GitHub's limits.

Pure: it takes judged findings and a report and returns text within GitHub's limits
(https://docs.github.com/en/rest/checks/runs#update-a-check-run). Every string that came from a
report is escaped here, because findings are written by a session that read hostile PR content.
"""

from __future__ import annotations

from collections.abc import Sequence

from action.markdown import ELLIPSIS, cell, cut, fenced, inline, one_line, shorten
from action.render import FINDING_COLUMNS, Table, finding_cells
from action.render import plural as plural
from app.judge.lifecycle import FindingState
from app.judge.links import Links
from app.judge.shown import Shown

SUMMARY_MARKER = "<!-- canon-gate:summary -->"
MAX_SUMMARY = 65_535
MAX_TEXT = 65_535
MAX_TITLE = 255
MAX_NOTE = 1_000


# Summary markdown.


def findings_tables(shown: Sequence[Shown], *, lifecycle: bool) -> list[Table]:
    """Group findings for the summary: New/Persisting/Waived/Resolved, or Findings/Waived."""

    def rows(state: FindingState) -> list[list[str]]:
        return [finding_cells(s.finding) for s in shown if s.state == state]

    # The waivers in force on the PR: after an evaluated audit, exactly those of its findings.
    waived = [
        [
            *finding_cells(s.finding),
            cell(s.waiver.reason),
            cell(s.waiver.user, 40),
            s.waiver.expires_at.date().isoformat() if s.waiver.expires_at else "never",
        ]
        for s in shown
        if s.waiver is not None
    ]
    columns = FINDING_COLUMNS
    waived_table = Table("Waived", (*columns, "Reason", "Waived by", "Expires"), waived)
    if not lifecycle:
        active = [finding_cells(s.finding) for s in shown if s.waiver is None]
        return [Table("Findings", columns, active), *([waived_table] if waived else [])]
    return [
        Table("New", columns, rows(FindingState.NEW)),
        Table("Persisting", columns, rows(FindingState.PERSISTING)),
        waived_table,
        Table("Resolved", columns, rows(FindingState.RESOLVED)),
    ]


HELP = (
    "### Commands\n\n"
    "To waive a finding, someone with write access other than the pull request's author "
    "comments `/canon-gate waive <finding-id> <reason>` on the pull request; "
    "`/canon-gate unwaive <finding-id>` ends a waiver. "
    "To audit again, press **Re-run** or comment `/canon-gate rerun`; a pull request from a "
    "fork waits for `/canon-gate approve <head-sha>` of the head a maintainer reviewed. "
    "`/canon-gate help` lists the commands and the waivers in force."
)


def notes(texts: Sequence[str]) -> str:
    return "\n\n".join(f"> **Note:** {inline(shorten(t, MAX_NOTE))}" for t in texts)


def detail_block(detail: str | None, limit: int = 10_000) -> str:
    """Quote a hostile detail (an error message, a GitHub answer) in a fence it cannot leave."""
    if not detail:
        return ""
    text = detail if len(detail) <= limit else detail[:limit] + f"\n{ELLIPSIS} (cut)"
    return fenced(text, "text")


def page(parts: Sequence[str], links: Links, limit: int = MAX_SUMMARY) -> str:
    """Join summary parts under the marker and cut the whole to GitHub's limit."""
    text = "\n\n".join([SUMMARY_MARKER, *(p for p in parts if p)])
    return cut(text, limit, links.pointer())


def insert_note(summary: str, note: str) -> str:
    """Add a note under a rendered summary's headline, still within GitHub's limit."""
    marker, _, rest = summary.partition("\n\n")
    head, _, body = rest.partition("\n\n")
    text = "\n\n".join(p for p in (marker, head, notes([note]), body) if p)
    return cut(text, MAX_SUMMARY, f"{ELLIPSIS} (cut)")


def headline(icon: str, text: str) -> str:
    return f"## {icon} {inline(one_line(text))}"
