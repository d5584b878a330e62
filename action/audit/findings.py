"""The session's structured result: its JSON schema, and its conversion into report Findings.

Emission choice: `output_format` json_schema (the CLI's StructuredOutput tool), not a
record-finding tool. The CLI validates the result against the schema and retries invalid ones, the
result arrives once at the end of the run, and its absence is unambiguous: a run that never emits
it is not evaluated. With a record-finding tool, "no findings" and "gave up half way" would look
alike without a second "done" tool. Ids, verification and commits are ours, never the model's.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from action.audit.evidence import Located, Sources, normalised_quote, verify
from action.errors import CanonGateError
from action.report import (
    DEFAULT_GATE,
    Classification,
    Evidence,
    Finding,
    Kind,
    Location,
    SuggestedFix,
    fingerprint,
)


class InvalidResult(CanonGateError, ValueError):
    """The session's structured result does not match the schema; the message says how."""


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RawEvidence(_Loose):
    quote: str = Field(min_length=1)
    source: str = Field(min_length=1)
    line: int | None = Field(default=None, ge=1)


class RawFix(_Loose):
    description: str = Field(description="What to change, in a sentence.")
    replacement: str | None = Field(
        default=None,
        description=(
            "The new text of exactly the finding's lines (start_line to end_line of path, in the "
            "PR head), whole lines, offered to the reviewer as a one-click suggestion; omit it "
            "when the fix is not a replacement of those lines."
        ),
    )


class RawFinding(_Loose):
    classification: Classification
    kind: Kind
    path: str = Field(min_length=1)
    start_line: int = Field(default=1, ge=1)
    end_line: int | None = Field(default=None, ge=1)
    claim: str = Field(min_length=1)
    evidence: list[RawEvidence] = Field(default_factory=list)
    canon: list[str] = Field(default_factory=list)
    suggested_fix: RawFix | None = None


class RawResult(_Loose):
    findings: list[RawFinding]
    summary: str = ""


def output_schema() -> dict[str, Any]:
    """The JSON schema the CLI enforces on StructuredOutput."""
    schema = RawResult.model_json_schema()
    schema.pop("title", None)
    return schema


def parse_result(structured: Any) -> RawResult:
    """Validate the structured result; raise InvalidResult with a short reason."""
    try:
        return RawResult.model_validate(structured)
    except ValidationError as exc:
        raise InvalidResult(
            f"the structured result does not match the schema: {exc.errors()[:3]}"
        ) from None


def to_finding(raw: RawFinding, sources: Sources, gate: str = DEFAULT_GATE) -> Finding:
    """Verify the evidence and fingerprint the finding from its stable parts (and its gate)."""
    evidence = [
        verify(Evidence(quote=e.quote, source=e.source, line=e.line), sources) for e in raw.evidence
    ]
    docs = {u: sources.canon.get(u) for u in raw.canon}
    canon = sorted({doc.uri if doc is not None else u for u, doc in docs.items()})
    path = head_relative(raw.path, sources) or raw.path
    location = Location(
        path=path, start_line=raw.start_line, end_line=max(raw.end_line or 0, raw.start_line)
    )
    return Finding(
        id=fingerprint(path, raw.kind, canon, anchor(evidence, location, sources), gate),
        classification=raw.classification,
        kind=raw.kind,
        location=location,
        claim=raw.claim,
        evidence=evidence,
        canon=canon,
        suggested_fix=(
            SuggestedFix(
                description=raw.suggested_fix.description,
                replacement=raw.suggested_fix.replacement,
            )
            if raw.suggested_fix
            else None
        ),
    )


def anchor(evidence: list[Evidence], location: Location, sources: Sources) -> str:
    """Choose what a finding's id rests on: a line of its own primary evidence, never its wording.

    The anchor is the content of the source line that holds the middle of a verified quote (the
    idea behind SARIF's `primaryLocationLineHash`; one sentence of it when the line is a whole
    unwrapped paragraph), so a quote trimmed, extended, re-wrapped or given with diff markers
    keeps the id, and so does a line number that moved.

    The primary evidence is chosen so that an extra quote cannot move it: a PR that plants a line
    and gets a finding on it waived must not hand that id to a later finding that also quotes the
    line. In order: the quote from the finding's own file nearest its location (overlapping it
    when one does); else the first canon quote (the base's canon, which the PR cannot plant); else
    the first verified quote; else the first quote as written; else the location's start line.
    Ties go to the first listed.
    """
    own: list[tuple[int, str]] = []
    canon: list[str] = []
    other: list[str] = []
    for e in evidence:
        found = _located(e, sources) if e.verified else None
        if found is None:
            continue
        key, where = found
        if head_relative(e.source, sources) == location.path:
            own.append((_distance(where, location), key))
        elif sources.canon.get(e.source) is not None:
            canon.append(key)
        else:
            other.append(key)
    if own:
        return min(own, key=lambda pair: pair[0])[1]  # min keeps the first of equals
    if canon or other:
        return (canon or other)[0]
    quotes = [q for e in evidence if (q := normalised_quote(e.quote))]
    return quotes[0] if quotes else f"line {location.start_line}"


def _located(evidence: Evidence, sources: Sources) -> tuple[str, Located] | None:
    """The anchor key of a quote (its source and the sentence it rests on), and where it sits."""
    found = sources.find(evidence.source, evidence.quote)
    if found is None:
        return None
    _, where = found
    doc = sources.canon.get(evidence.source)
    source = doc.uri if doc is not None else head_relative(evidence.source, sources)
    return f"{source}\x1e{where.anchor}", where


def _distance(where: Located, location: Location) -> int:
    """How many lines lie between a quote and the finding's location: 0 when they overlap."""
    if where.end_line < location.start_line:
        return location.start_line - where.end_line
    return max(0, where.line - location.end_line)


def head_relative(path: str, sources: Sources) -> str:
    """Express a path the model gave (absolute, or through the head checkout) relative to it."""
    path = path.removeprefix("./")
    head = sources.head_dir.resolve()
    for prefix in (str(head), str(sources.head_dir)):
        if path.startswith(prefix + "/"):
            return path[len(prefix) + 1 :]
    try:
        nested = head.relative_to(sources.base_dir.resolve()).as_posix()
    except ValueError:
        return path
    return path.removeprefix(nested + "/")


def dedupe(findings: list[Finding]) -> list[Finding]:
    """Keep one finding per id, the most severe: the same defect reported twice is one finding.

    Ids leave the classification out (a finding keeps its id, and its waiver, when the model
    re-grades it), so a cosmetic and a substantive finding can share one. The substantive one
    wins wherever it is listed; among equals the first does. It takes the first one's place.
    """
    seen: dict[str, Finding] = {}
    for f in findings:
        kept = seen.setdefault(f.id, f)
        if f.substantive and not kept.substantive:
            seen[f.id] = f
    return list(seen.values())
