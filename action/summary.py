"""Render a report for people: job-summary markdown and the CLI's plain table."""

from __future__ import annotations

from action.markdown import cell, inline, shorten
from action.render import findings_table, hints_section, session_figures, structure_table, tables
from action.report import STRUCTURE, Report, check_name

MARKER = "<!-- canon-gate:summary -->"
_STATUS = {"pass": "passed", "fail": "failed", "not_evaluated": "not evaluated"}
# GitHub takes a job summary of up to 1 MiB; the findings are kept well inside it.
MAX_SUMMARY_CHARS = 200_000
_POINTER = "The report artifact holds them all."


def markdown(report: Report) -> str:
    """The job summary: outcome, structure problems, findings, denials, hints and figures, in
    the check run's own rendering (`action.render`), within the job summary's size."""
    run = report.run
    said = outcome(report)
    lines = [MARKER, f"## {check_name(run.gate)}: {_STATUS.get(said, said.replace('_', ' '))}", ""]
    if report.error:
        lines += [f"**Not evaluated:** {inline(report.error)}", ""]
    if report.out_of_scope:
        lines += ["The change touches none of this gate's paths: no session ran.", ""]
    parts = []
    if report.structure:
        parts.append(structure_table(report.structure))
    if report.evaluated and run.gate != STRUCTURE:
        ordered = sorted(report.findings, key=lambda f: (not f.blocks, f.location.path))
        parts.append(findings_table(ordered))
    if parts:
        lines += [tables(parts, MAX_SUMMARY_CHARS, _POINTER), ""]
    if run.denials:
        lines += [f"Denied tool calls: {len(run.denials)}", ""]
        lines += [
            f"- {inline(d.tool)} {cell(d.target, 120)}: {inline(d.reason)}"
            for d in run.denials[:20]
        ]
        lines.append("")
    lines += [hints_section(report.hints), "", session_figures(run, report.verification), ""]
    return "\n".join(lines)


def outcome(report: Report) -> str:
    """One gate's (or the structural check's) outcome, as CI would judge it before waivers:
    `pass`, `fail`, `not_evaluated` or `not_in_scope`."""
    if report.out_of_scope:
        return "not_in_scope"
    if report.run.gate == STRUCTURE and report.evaluated:
        return "fail" if report.structure else "pass"
    return report.status


def table(report: Report) -> str:
    """A plain-text table for the terminal."""
    said = outcome(report)
    out = [f"{check_name(report.run.gate)}: {_STATUS.get(said, said.replace('_', ' '))}"]
    if report.error:
        out.append(f"reason: {report.error}")
    for problem in report.structure or []:
        out.append(f"structure: {problem.path}:{problem.line}: {problem.rule}: {problem.message}")
    rows = [("ID", "CLASS", "KIND", "LOCATION", "CLAIM")]
    for f in report.findings:
        where = f"{f.location.path}:{f.location.start_line}"
        rows.append((f.id, f.classification.value, f.kind.value, where, shorten(f.claim, 70)))
    if len(rows) > 1:
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            out.append(
                "  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
            )
    for d in report.run.denials:
        out.append(f"denied: {d.tool} {d.target} ({d.reason})")
    return "\n".join(out)
