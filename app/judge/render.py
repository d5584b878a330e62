"""Render a check run's summary markdown within GitHub's limits.

Pure: it takes judged findings and a report and returns text within GitHub's limits
(https://docs.github.com/en/rest/checks/runs#update-a-check-run). Every string that came from a
report is escaped here, because findings are written by a session that read hostile PR content.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from action.markdown import ELLIPSIS, cell, cut, fenced, inline, one_line, shorten
from action.report import Finding, HintResult, RunInfo, StructureProblem, VerificationRun
from app.judge.lifecycle import FindingState
from app.judge.links import Links
from app.judge.shown import Shown, kind_label

SUMMARY_MARKER = "<!-- canon-gate:summary -->"
MAX_SUMMARY = 65_535
MAX_TEXT = 65_535
MAX_TITLE = 255
MAX_HINTS_SHOWN = 50
MAX_NOTE = 1_000


def _location(finding: Finding) -> str:
    loc = finding.location
    lines = str(loc.start_line)
    if loc.end_line != loc.start_line:
        lines += f"-{loc.end_line}"
    path = loc.path if len(loc.path) <= 80 else ELLIPSIS + loc.path[-79:]
    return f"{path}:{lines}"


# Summary markdown.


@dataclass(frozen=True)
class Table:
    heading: str
    columns: Sequence[str]
    # Cells already escaped.
    rows: Sequence[Sequence[str]]


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def tables(parts: Sequence[Table], budget: int, links: Links) -> str:
    """Render tables in order, dropping the rows that do not fit in `budget` characters."""
    out: list[str] = []
    omitted = 0
    reserve = len(links.pointer()) + 40
    used = 0
    for table in parts:
        head = [f"### {table.heading} ({len(table.rows)})", ""]
        if table.rows:
            head += [_row(table.columns), _row("---" for _ in table.columns)]
        else:
            head.append("None.")
        head_len = sum(len(line) + 1 for line in head) + 1
        if omitted or used + head_len > budget - reserve:
            omitted += len(table.rows)
            continue
        out.extend(head)
        used += head_len
        for cells in table.rows:
            line = _row(cells)
            if omitted or used + len(line) + 1 > budget - reserve:
                omitted += 1
                continue
            out.append(line)
            used += len(line) + 1
        out.append("")
    if omitted:
        out.append(f"{omitted} more rows not shown. {links.pointer()}")
    return "\n".join(out).strip()


def _finding_cells(finding: Finding) -> list[str]:
    return [
        inline(finding.id),
        finding.classification.value,
        kind_label(finding),
        inline(_location(finding)),
        cell(finding.claim),
    ]


_COLUMNS = ("ID", "Classification", "Kind", "Location", "Claim")


def findings_tables(shown: Sequence[Shown], *, lifecycle: bool) -> list[Table]:
    """Group findings for the summary: New/Persisting/Waived/Resolved, or Findings/Waived."""

    def rows(state: FindingState) -> list[list[str]]:
        return [_finding_cells(s.finding) for s in shown if s.state == state]

    # The waivers in force on the PR: after an evaluated audit, exactly those of its findings.
    waived = [
        [
            *_finding_cells(s.finding),
            cell(s.waiver.reason),
            cell(s.waiver.user, 40),
            s.waiver.expires_at.date().isoformat() if s.waiver.expires_at else "never",
        ]
        for s in shown
        if s.waiver is not None
    ]
    waived_table = Table("Waived", (*_COLUMNS, "Reason", "Waived by", "Expires"), waived)
    if not lifecycle:
        active = [_finding_cells(s.finding) for s in shown if s.waiver is None]
        return [Table("Findings", _COLUMNS, active), *([waived_table] if waived else [])]
    return [
        Table("New", _COLUMNS, rows(FindingState.NEW)),
        Table("Persisting", _COLUMNS, rows(FindingState.PERSISTING)),
        waived_table,
        Table("Resolved", _COLUMNS, rows(FindingState.RESOLVED)),
    ]


def structure_table(problems: Sequence[StructureProblem]) -> Table:
    rows = [
        [inline(f"{shorten(p.path, 80)}:{p.line}"), cell(p.rule, 60), cell(p.message, 200)]
        for p in problems
    ]
    return Table("Problems", ("Location", "Rule", "Problem"), rows)


def _duration(ms: int) -> str:
    seconds = ms // 1000
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m {seconds}s" if minutes else f"{seconds}s"


def _value(text: str | None, limit: int = 80) -> str:
    return cell(text, limit) if text else "unknown"


def session_figures(run: RunInfo, vote: VerificationRun | None = None) -> str:
    usage = run.usage
    auth = {"subscription": "subscription", "api_key": "API key", "none": "none"}
    canon = _value(run.canon_ref) + (f" @ {_value(run.canon_sha, 40)}" if run.canon_sha else "")
    rows = [
        ("Model", _value(run.model)),
        ("Claude Code", _value(run.claude_code_version)),
        ("Turns", str(run.turns)),
        ("Duration", _duration(run.duration_ms)),
        (
            "Tokens",
            f"in {usage.input_tokens:,} · out {usage.output_tokens:,} · "
            f"cache read {usage.cache_read_input_tokens:,} · "
            f"cache write {usage.cache_creation_input_tokens:,}",
        ),
        ("Cost (API-equivalent)", f"${run.cost_usd:,.4f}"),
        ("Auth", auth[run.auth_mode.value]),
        ("Prompt hash", _value(run.prompt_hash)),
        ("Canon", canon),
        ("Head", _value(run.head_sha, 40)),
    ]
    if vote is not None:
        rows.append(
            (
                "Verification",
                f"{vote.votes} votes on {plural(vote.verified, 'finding')} · "
                f"{vote.sessions} sessions · {vote.turns} turns · {_duration(vote.duration_ms)} · "
                f"${vote.cost_usd:,.4f}",
            )
        )
    lines = ["### Session", "", _row(("Figure", "Value")), _row(("---", "---"))]
    lines += [_row(r) for r in rows]
    return "\n".join(lines)


def hints_section(hints: Sequence[HintResult]) -> str:
    if not hints:
        return ""
    lines = [
        "### Hints",
        "",
        "Mechanical hints feed the session as input; they never set the verdict.",
        "",
        _row(("Hint", "Exit code", "Timed out", "Duration")),
        _row(("---",) * 4),
    ]
    for hint in hints[:MAX_HINTS_SHOWN]:
        code = "none" if hint.exit_code is None else str(hint.exit_code)
        timed_out = "yes" if hint.timed_out else "no"
        lines.append(_row((cell(hint.name, 60), code, timed_out, _duration(hint.duration_ms))))
    if len(hints) > MAX_HINTS_SHOWN:
        lines.append(f"\n{len(hints) - MAX_HINTS_SHOWN} more hints not shown.")
    return "\n".join(lines)


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


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def insert_note(summary: str, note: str) -> str:
    """Add a note under a rendered summary's headline, still within GitHub's limit."""
    marker, _, rest = summary.partition("\n\n")
    head, _, body = rest.partition("\n\n")
    text = "\n\n".join(p for p in (marker, head, notes([note]), body) if p)
    return cut(text, MAX_SUMMARY, f"{ELLIPSIS} (cut)")


def headline(icon: str, text: str) -> str:
    return f"## {icon} {inline(one_line(text))}"
