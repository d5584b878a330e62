"""Render a report for people: the job summary's markdown, and the outcome CI gives it."""

from __future__ import annotations

from action.markdown import cell, inline
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
