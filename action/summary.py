"""Render a report for people: job-summary markdown and the CLI's plain table."""

from __future__ import annotations

from action.markdown import cell, inline, shorten
from action.report import STRUCTURE, Report, check_name

MARKER = "<!-- canon-gate:summary -->"
_STATUS = {"pass": "passed", "fail": "failed", "not_evaluated": "not evaluated"}


def markdown(report: Report) -> str:
    """The job summary: outcome, findings table, denials, and the run's figures."""
    run = report.run
    status = "not in scope" if report.out_of_scope else _STATUS[report.status]
    if run.gate == STRUCTURE and report.evaluated:
        status = "failed" if report.structure else "passed"
    lines = [MARKER, f"## {check_name(run.gate)}: {status}", ""]
    if report.error:
        lines += [f"**Not evaluated:** {inline(report.error)}", ""]
    if report.out_of_scope:
        lines += ["The change touches none of this gate's paths: no session ran.", ""]
    for problem in report.structure or []:
        where = cell(f"{problem.path}:{problem.line}", 200)
        lines.append(f"- {where} `{inline(problem.rule)}`: {cell(problem.message, 300)}")
    if report.structure:
        lines.append("")
    if report.findings:
        lines += [
            "| id | class | kind | location | claim | evidence |",
            "|---|---|---|---|---|---|",
        ]
        for f in sorted(report.findings, key=lambda f: (not f.substantive, f.location.path)):
            checked = sum(e.verified for e in f.evidence)
            where = cell(f"{f.location.path}:{f.location.start_line}", 200)
            lines.append(
                f"| `{f.id}` | {f.classification.value} | {f.kind.value} | {where} | "
                f"{cell(f.claim, 200)} | {checked}/{len(f.evidence)} verified |"
            )
        lines.append("")
    elif report.evaluated:
        lines += ["No findings.", ""]
    if run.denials:
        lines += [f"Denied tool calls: {len(run.denials)}", ""]
        lines += [
            f"- {inline(d.tool)} {cell(d.target, 120)}: {inline(d.reason)}"
            for d in run.denials[:20]
        ]
        lines.append("")
    lines += [
        f"PR #{run.pr} · head `{(run.head_sha or '?')[:12]}` · "
        f"base `{(run.base_sha or '?')[:12]}` · "
        f"model {run.model or 'default'} · Claude Code {run.claude_code_version} · "
        f"{run.turns} turns · {run.duration_ms / 1000:.1f} s · "
        f"${run.cost_usd:.4f} API-equivalent · "
        f"auth {run.auth_mode.value} · prompt `{run.prompt_hash}`",
        "",
    ]
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
