"""The one Markdown rendering of a report's findings, structure problems, hints and figures.

Both planes render from here: the job summary (`action.summary`) and the check run's summary
(`app.judge.render`, which adds what only the App knows: waivers and the lifecycle). Every string
that came from a report is escaped here, because findings are written by a session that read
hostile PR content.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from action.markdown import ELLIPSIS, cell, inline, shorten
from action.report import Finding, HintResult, RunInfo, StructureProblem, VerificationRun

MAX_HINTS_SHOWN = 50
FINDING_COLUMNS = ("ID", "Classification", "Kind", "Location", "Claim")
_AUTH = {
    "subscription": "subscription",
    "api_key": "API key",
    "bedrock": "Amazon Bedrock",
    "vertex": "Google Vertex AI",
    "none": "none",
}


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def kind_label(finding: Finding) -> str:
    return finding.kind.value.replace("_", " ")


def location(finding: Finding) -> str:
    loc = finding.location
    lines = str(loc.start_line)
    if loc.end_line != loc.start_line:
        lines += f"-{loc.end_line}"
    path = loc.path if len(loc.path) <= 80 else ELLIPSIS + loc.path[-79:]
    return f"{path}:{lines}"


@dataclass(frozen=True)
class Table:
    heading: str
    columns: Sequence[str]
    # Cells already escaped.
    rows: Sequence[Sequence[str]]


def row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def tables(parts: Sequence[Table], budget: int, pointer: str) -> str:
    """Render tables in order, dropping the rows that do not fit in `budget` characters; the
    last line then says how many were left out, and `pointer` says where they all are."""
    out: list[str] = []
    omitted = 0
    reserve = len(pointer) + 40
    used = 0
    for table in parts:
        head = [f"### {table.heading} ({len(table.rows)})", ""]
        if table.rows:
            head += [row(table.columns), row("---" for _ in table.columns)]
        else:
            head.append("None.")
        head_len = sum(len(line) + 1 for line in head) + 1
        if omitted or used + head_len > budget - reserve:
            omitted += len(table.rows)
            continue
        out.extend(head)
        used += head_len
        for cells in table.rows:
            line = row(cells)
            if omitted or used + len(line) + 1 > budget - reserve:
                omitted += 1
                continue
            out.append(line)
            used += len(line) + 1
        out.append("")
    if omitted:
        out.append(f"{omitted} more rows not shown. {pointer}")
    return "\n".join(out).strip()


def finding_cells(finding: Finding) -> list[str]:
    """One finding's row: id, classification, kind, location and claim, each escaped."""
    return [
        inline(finding.id),
        finding.classification.value,
        kind_label(finding),
        inline(location(finding)),
        cell(finding.claim),
    ]


def findings_table(findings: Sequence[Finding], heading: str = "Findings") -> Table:
    return Table(heading, FINDING_COLUMNS, [finding_cells(f) for f in findings])


def structure_table(problems: Sequence[StructureProblem]) -> Table:
    rows = [
        [inline(f"{shorten(p.path, 80)}:{p.line}"), cell(p.rule, 60), cell(p.message, 200)]
        for p in problems
    ]
    return Table("Problems", ("Location", "Rule", "Problem"), rows)


def duration(ms: int) -> str:
    seconds = ms // 1000
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m {seconds}s" if minutes else f"{seconds}s"


def _value(text: str | None, limit: int = 80) -> str:
    return cell(text, limit) if text else "unknown"


def session_figures(run: RunInfo, vote: VerificationRun | None = None) -> str:
    """The run's figures: model, harness, turns, time, tokens, cost, auth, prompt and commits."""
    usage = run.usage
    canon = _value(run.canon_ref) + (f" @ {_value(run.canon_sha, 40)}" if run.canon_sha else "")
    rows = [
        ("Gate", _value(run.gate)),
        ("Model", _value(run.model)),
        ("Claude Code", _value(run.claude_code_version)),
        ("Turns", str(run.turns)),
        ("Duration", duration(run.duration_ms)),
        (
            "Tokens",
            f"in {usage.input_tokens:,} · out {usage.output_tokens:,} · "
            f"cache read {usage.cache_read_input_tokens:,} · "
            f"cache write {usage.cache_creation_input_tokens:,}",
        ),
        ("Cost (API-equivalent)", f"${run.cost_usd:,.4f}"),
        ("Auth", _AUTH.get(run.auth_mode.value, run.auth_mode.value)),
        ("Prompt hash", _value(run.prompt_hash)),
        ("Canon", canon),
        ("Head", _value(run.head_sha, 40)),
    ]
    if run.canon_sources:
        # Whoever controls a source's repository controls what governs: name each commit read.
        said = ", ".join(
            f"{s.prefix} {s.repo}@{(s.commit or 'not fetched')[:12]}" for s in run.canon_sources
        )
        rows.append(("Canon sources", cell(said, 300)))
    if run.persona:
        rows.append(("Persona", cell(", ".join(p.uri for p in run.persona), 200)))
    if vote is not None:
        rows.append(
            (
                "Verification",
                f"{vote.votes} votes on {plural(vote.verified, 'finding')} · "
                f"{vote.sessions} sessions · {vote.turns} turns · {duration(vote.duration_ms)} · "
                f"${vote.cost_usd:,.4f}",
            )
        )
    lines = ["### Session", "", row(("Figure", "Value")), row(("---", "---"))]
    lines += [row(r) for r in rows]
    return "\n".join(lines)


def hints_section(hints: Sequence[HintResult]) -> str:
    if not hints:
        return ""
    lines = [
        "### Hints",
        "",
        "Mechanical hints feed the session as input; they never set the verdict.",
        "",
        row(("Hint", "Exit code", "Timed out", "Duration")),
        row(("---",) * 4),
    ]
    for hint in hints[:MAX_HINTS_SHOWN]:
        code = "none" if hint.exit_code is None else str(hint.exit_code)
        timed_out = "yes" if hint.timed_out else "no"
        lines.append(row((cell(hint.name, 60), code, timed_out, duration(hint.duration_ms))))
    if len(hints) > MAX_HINTS_SHOWN:
        lines.append(f"\n{len(hints) - MAX_HINTS_SHOWN} more hints not shown.")
    return "\n".join(lines)
