"""What `canon-gate audit` shows on a terminal: every report as plain text wrapped to the
terminal's width, its closing result line, and the progress lines while it runs.

Everything a reviewer needs is here (claims whole, evidence with whether it was verified, canon
URIs, suggested fixes, the vote, the run's turns, time and cost, structure problems); `--format
json` holds the rest. Text from a report was written by a session that read the change, so
control characters are dropped before it reaches the terminal.
"""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Sequence
from typing import TextIO

from action.render import duration, kind_label, location, plural
from action.report import STRUCTURE, Evidence, Finding, Report, check_name
from action.summary import outcome

# Past this many columns, wrapped prose is harder to read, whatever the terminal's width.
MAX_WIDTH = 120
MIN_WIDTH = 40
# A longer text (a runaway claim) is cut, saying how much `--format json` holds besides.
MAX_TEXT = 2000
MAX_REPLACEMENT_LINES = 40
MAX_DENIALS = 20
_SAID = {"pass": "passed", "fail": "failed", "not_evaluated": "not evaluated"}
_AUTH = {"api_key": "API key", "bedrock": "Amazon Bedrock", "vertex": "Google Vertex AI"}


def plain(text: str) -> str:
    """Text safe to print: no control or format characters (escapes, bidi overrides), which
    a hostile change could have talked the session into quoting; newlines and tabs stay."""
    return "".join(
        ch if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs") else ""
        for ch in text
    ).expandtabs(4)


def _cut(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return f"{text[:MAX_TEXT]}… ({len(text) - MAX_TEXT:,} more characters: --format json)"


def wrap(text: str, width: int, indent: str, first: str | None = None) -> list[str]:
    """Wrap each paragraph of `text` to `width`, the first line after `first` (else `indent`)."""
    lines: list[str] = []
    lead = indent if first is None else first
    for paragraph in _cut(plain(text)).splitlines() or [""]:
        lines += textwrap.wrap(
            paragraph,
            width=width,
            initial_indent=lead,
            subsequent_indent=indent,
            # A URI or path longer than a line stays whole, to be copied: it overflows.
            break_long_words=False,
            break_on_hyphens=False,
        ) or [lead.rstrip()]
        lead = indent
    return lines


def status(report: Report) -> str:
    said = outcome(report)
    return _SAID.get(said, said.replace("_", " "))


def _headline(report: Report) -> str:
    name = check_name(report.run.gate)
    said = status(report)
    if report.out_of_scope:
        return (
            f"{name}: not in scope: the change touches none of this gate's paths, so no session "
            "started and nothing was spent"
        )
    if report.run.gate == STRUCTURE and report.structure:
        return f"{name}: {said}: {plural(len(report.structure), 'structure problem')}"
    if report.evaluated and report.run.gate != STRUCTURE:
        blocking = sum(f.blocks for f in report.findings)
        count = f"{plural(blocking, 'blocking finding')}"
        if len(report.findings) != blocking:
            count += f" of {len(report.findings)}"
        return f"{name}: {said}: {count}"
    return f"{name}: {said}"


def _figures(report: Report) -> str | None:
    run = report.run
    if not run.turns and not run.cost_usd:
        return None
    parts = [
        plural(run.turns, "turn"),
        duration(run.duration_ms),
        f"${run.cost_usd:,.4f} (API-equivalent)",
    ]
    if run.model:
        parts.append(plain(run.model))
    if run.auth_mode.value != "none":
        parts.append(_AUTH.get(run.auth_mode.value, run.auth_mode.value))
    if run.claude_code_version:
        parts.append(f"Claude Code {plain(run.claude_code_version)}")
    return "session: " + " · ".join(parts)


def _source(evidence: Evidence) -> str:
    where = evidence.source + (f":{evidence.line}" if evidence.line else "")
    return where + (f" @ {evidence.commit[:7]}" if evidence.commit else "")


def _finding(finding: Finding, width: int) -> list[str]:
    effect = (
        "blocks"
        if finding.blocks
        else "refuted by the vote"
        if finding.refuted
        else ("does not block")
    )
    head = f"{finding.id}  {finding.classification.value} · {kind_label(finding)} · {effect}"
    out = wrap(head, width, "    ", first="  ")
    out += wrap(f"at {location(finding)}", width, "      ", first="    ")
    out += wrap(finding.claim, width, "    ")
    if finding.evidence:
        out.append("    evidence:")
        for e in finding.evidence:
            said = "verified  " if e.verified else "unverified"
            out += wrap(f'{said} "{e.quote}" ({_source(e)})', width, " " * 17, first="      ")
    if finding.canon:
        out += wrap("canon: " + ", ".join(finding.canon), width, "      ", first="    ")
    fix = finding.suggested_fix
    if fix is not None:
        out += wrap("fix: " + (fix.description or "(no description)"), width, "      ", "    ")
        if fix.replacement:
            out.append("      replace with:")
            lines = plain(fix.replacement).splitlines() or [""]
            for line in lines[:MAX_REPLACEMENT_LINES]:
                out += wrap(line, width, " " * 10, first="        | ")
            if len(lines) > MAX_REPLACEMENT_LINES:
                more = len(lines) - MAX_REPLACEMENT_LINES
                out.append(f"        … {plural(more, 'more line')}: --format json")
    if finding.verification is not None and finding.verification.votes:
        votes = finding.verification.votes
        tally = f"vote: {finding.verification.refutes} of {len(votes)} refute"
        out += wrap(tally, width, "      ", first="    ")
        for vote in votes:
            why = f"{vote.verdict}{' (the verifier failed)' if vote.failed else ''}"
            out += wrap(f"{why}: {vote.reason or 'no reason given'}", width, " " * 8, "      ")
    return out


def section(report: Report, width: int, *, structure: bool = True) -> str:
    """One report: its outcome, then what a reviewer needs to act on it."""
    out = wrap(_headline(report), width, "  ", first="")
    if report.error:
        out += wrap(f"reason: {report.error}", width, "    ", first="  ")
    if (figures := _figures(report)) is not None:
        out += wrap(figures, width, "    ", first="  ")
    if report.verification is not None:
        v = report.verification
        vote = (
            f"vote: {v.votes} votes on {plural(v.verified, 'finding')} · "
            f"{plural(v.sessions, 'session')} · {plural(v.turns, 'turn')} · "
            f"{duration(v.duration_ms)} · ${v.cost_usd:,.4f}"
        )
        if v.unverified:
            vote += f" ({v.unverified} more blocking unverified)"
        out += wrap(vote, width, "    ", first="  ")
    if report.hints:
        ran = ", ".join(
            f"{h.name} ({'timed out' if h.timed_out else f'exit {h.exit_code}'})"
            for h in report.hints
        )
        out += wrap(f"hints: {ran}", width, "    ", first="  ")
    if structure or report.run.gate == STRUCTURE:
        for p in report.structure or []:
            where = f"{p.path}:{p.line}  {p.rule}"
            out += wrap(f"{where}: {p.message}", width, "    ", first="  ")
    for finding in sorted(report.findings, key=lambda f: (not f.blocks, f.location.path)):
        out += ["", *_finding(finding, width)]
    if report.run.denials:
        out += ["", f"  denied tool calls: {len(report.run.denials)}"]
        for d in report.run.denials[:MAX_DENIALS]:
            out += wrap(f"{d.tool} {d.target} ({d.reason})", width, "      ", first="    ")
    return "\n".join(out)


def result(reports: Sequence[Report], exit_status: int) -> str:
    """The closing line: the outcome CI would give, which checks decided it, the exit status."""
    said = {r.run.gate: outcome(r) for r in reports}
    failed = [check_name(g) for g, s in said.items() if s == "fail"]
    unjudged = [check_name(g) for g, s in said.items() if s == "not_evaluated"]
    gates = [r for r in reports if r.run.gate != STRUCTURE]
    if failed:
        return f"Result: failed ({', '.join(failed)}); exit status {exit_status}"
    if unjudged:
        return f"Result: not evaluated ({', '.join(unjudged)}); exit status {exit_status}"
    if gates and all(r.out_of_scope for r in gates):
        return (
            "Result: passed: the change is in no gate's scope, so no session started and "
            f"nothing was spent; exit status {exit_status}"
        )
    return f"Result: passed; exit status {exit_status}"


def render(reports: Sequence[Report], width: int, exit_status: int) -> str:
    """Every report, the structural check first, then the result line, within `width`."""
    width = max(MIN_WIDTH, min(width, MAX_WIDTH))
    # The structural check's own report shows its problems; a gate's repeats them.
    apart = any(r.run.gate == STRUCTURE for r in reports)
    parts = [section(r, width, structure=not apart) for r in reports]
    closing = "\n".join(wrap(result(reports, exit_status), width, "  ", first=""))
    return "\n\n".join([*parts, closing])


class TerminalProgress:
    """Progress for a person at a terminal, on stderr: one line per step, and the turn count
    rewritten in place while a session runs."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._open = False

    def _say(self, text: str, *, end: str = "\n") -> None:
        try:
            if self._open:
                self.stream.write("\r\x1b[K")
            self.stream.write(plain(text) + end)
            self.stream.flush()
        except OSError:
            return  # a closed terminal must not stop the audit
        self._open = end != "\n"

    def canon_loaded(self, gate: str, documents: int) -> None:
        self._say(f"{check_name(gate)}: canon loaded ({plural(documents, 'document')})")

    def in_scope(self, gate: str, files: int) -> None:
        if files:
            self._say(f"{check_name(gate)}: {plural(files, 'changed file')} in scope")
        else:
            self._say(f"{check_name(gate)}: no changed file in scope: no session")

    def session_started(self, gate: str, max_turns: int, wall_seconds: int) -> None:
        bound = f"up to {plural(max_turns, 'turn')} or {duration(wall_seconds * 1000)}"
        self._say(f"{check_name(gate)}: session started ({bound})")

    def turn(self, gate: str, turns: int) -> None:
        self._say(f"{check_name(gate)}: turn {turns}", end="")

    def voting(self, gate: str, votes: int) -> None:
        self._say(f"{check_name(gate)}: verifying its findings ({votes} votes each)")

    def done(self, report: Report) -> None:
        run = report.run
        spent = f" ({duration(run.duration_ms)}, ${run.cost_usd:,.4f})" if run.turns else ""
        self._say(f"{check_name(run.gate)}: done: {status(report)}{spent}")
