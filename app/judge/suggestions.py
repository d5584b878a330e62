"""Suggested fixes as one pull-request review: which findings, on which lines, in what words, and
which of the App's earlier suggestions to withdraw.

Pure: `app.flows.suggest` reads the PR's patches and review comments (`app.edge.reviews`) and
writes what `plan` returns. A finding's `suggested_fix.replacement` is the new text of its
location's lines; GitHub applies a suggestion block to exactly the lines its comment spans
(https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/reviewing-changes-in-pull-requests/commenting-on-a-pull-request#adding-line-comments-to-a-pull-request).
Every comment starts with a hidden marker naming its finding and gate, so a later audit finds it
again: never to post it twice, and to edit it once its finding resolved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from action.markdown import cell, fenced
from action.report import Finding, Location, Report, check_name
from app.judge.comment import ExistingComment, by_app

# A review is for a person to read: the rest of the findings keep their annotations, and a
# later audit offers those still standing.
MAX_COMMENTS = 25
# Withdrawals one completion makes (each a mutating call); a later audit makes the rest.
MAX_WITHDRAWALS = 20
# GitHub caps a review comment's body at 65,536 characters. A cut suggestion would commit
# wrong code, so a fix that does not fit is not offered at all.
MAX_BODY = 65_000
MAX_CLAIM = 300
MAX_DESCRIPTION = 500

_MARKER = re.compile(
    r"\A<!-- canon-gate:suggestion (cg-[0-9a-f]{10}) gate:([a-z0-9-]+)( resolved)? -->"
)
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


def marker(finding_id: str, gate: str, *, resolved: bool = False) -> str:
    return (
        f"<!-- canon-gate:suggestion {finding_id} gate:{gate}{' resolved' if resolved else ''} -->"
    )


@dataclass(frozen=True)
class Posted:
    """One of the App's own suggestion comments on the PR, read back by its marker."""

    comment_id: int
    finding_id: str
    gate: str
    resolved: bool


def posted(existing: Sequence[ExistingComment], app_slug: str) -> list[Posted]:
    """The App's own suggestion comments. Only a marker that opens a comment the App wrote
    counts: anyone can paste one, and a replacement may quote one inside its block."""
    found = []
    for comment in existing:
        match = _MARKER.match(comment.body)
        if match is not None and by_app(comment, app_slug):
            finding_id, gate, resolved = match.groups()
            found.append(Posted(comment.id, finding_id, gate, resolved is not None))
    return found


def right_lines(patch: str) -> tuple[range, ...]:
    """Each hunk's lines on the new side (added and context): where GitHub takes a comment with
    `side: RIGHT`. A hunk's new side is one run of lines, `+start,count` in its header."""
    hunks = []
    for match in _HUNK.finditer(patch):
        start, count = int(match.group(1)), int(match.group(2) or "1")
        if count:
            hunks.append(range(start, start + count))
    return tuple(hunks)


def in_diff(location: Location, patches: Mapping[str, str]) -> bool:
    """Whether every line of a location lies in one hunk of the PR's diff. GitHub refuses a
    comment on a line outside the diff, and a multi-line one that spans two hunks; a file with
    no patch (binary, or too large to show) takes none."""
    patch = patches.get(location.path)
    if patch is None:
        return False
    return any(
        location.start_line in hunk and location.end_line in hunk for hunk in right_lines(patch)
    )


def fixable(report: Report) -> list[Finding]:
    """The findings whose fix can be offered: a replacement, and not refuted by the vote. An
    empty replacement is no fix (as in the annotation), never a deletion."""
    return [
        f
        for f in report.findings
        if f.suggested_fix is not None and f.suggested_fix.replacement and not f.refuted
    ]


def worth_asking(audits: Mapping[str, Report], earlier: Sequence[Report] | None) -> bool:
    """Whether GitHub must be asked at all: a fix to offer now, or one offered before whose
    finding is gone. `earlier` are the gates' earlier audits of the PR from the ledger (None:
    not known, so ask)."""
    if any(fixable(r) for r in audits.values()):
        return True
    if earlier is None:
        return True
    now = {f.id for r in audits.values() for f in r.findings}
    return any(f.id not in now for r in earlier if r.run.gate in audits for f in fixable(r))


def comment_body(finding: Finding, gate: str) -> str | None:
    """A suggestion comment: the marker, the claim, and the replacement in a suggestion block
    whose fence is longer than any backtick run inside it, so the text cannot break out. Claim
    and description are escaped (no mentions, no markup); the replacement is left as it is,
    since applying it commits it, and GitHub links no mention inside a code block. None when
    it does not fit a comment."""
    fix = finding.suggested_fix
    if fix is None or not fix.replacement:
        return None
    parts = [
        marker(finding.id, gate),
        f"**{check_name(gate)}** suggests a fix for `{finding.id}`: "
        + cell(finding.claim, MAX_CLAIM),
    ]
    if fix.description.strip():
        parts.append(cell(fix.description, MAX_DESCRIPTION))
    parts.append(fenced(fix.replacement, "suggestion"))
    body = "\n\n".join(parts) + "\n"
    return body if len(body) <= MAX_BODY else None


def withdrawn_body(posted: Posted, head_sha: str) -> str:
    """A resolved finding's comment, edited: it says so, and its suggestion is gone."""
    return (
        f"{marker(posted.finding_id, posted.gate, resolved=True)}\n\n"
        f"**Resolved** at `{head_sha[:7]}`: `{check_name(posted.gate)}` no longer reports "
        f"`{posted.finding_id}`, so its suggested fix is withdrawn.\n"
    )


@dataclass(frozen=True)
class ReviewComment:
    """One comment of the review: the finding's lines on the PR head, and its body."""

    path: str
    start_line: int
    end_line: int
    body: str

    def to_api(self) -> dict[str, Any]:
        """GitHub's draft review comment; `start_line` only when it spans several lines."""
        data: dict[str, Any] = {
            "path": self.path,
            "line": self.end_line,
            "side": "RIGHT",
            "body": self.body,
        }
        if self.start_line < self.end_line:
            data.update(start_line=self.start_line, start_side="RIGHT")
        return data


@dataclass(frozen=True)
class Review:
    """The one review of an audit: COMMENT, pinned to the audited head."""

    commit_id: str
    body: str
    comments: tuple[ReviewComment, ...]

    def to_api(self) -> dict[str, Any]:
        return {
            "commit_id": self.commit_id,
            "event": "COMMENT",
            "body": self.body,
            "comments": [c.to_api() for c in self.comments],
        }


@dataclass(frozen=True)
class Withdrawal:
    comment_id: int
    body: str


@dataclass(frozen=True)
class Plan:
    """What to write: the review (None: nothing new to offer) and the comments to edit."""

    review: Review | None
    withdrawals: tuple[Withdrawal, ...]
    # Fixes left as annotations only: outside the diff, already offered, too long, over the cap.
    outside_diff: int = 0
    already: int = 0
    too_long: int = 0
    over_cap: int = 0


def _where(finding: Finding) -> tuple[str, int]:
    return finding.location.path, finding.location.start_line


def review_body(count: int, gates: Sequence[str], head_sha: str) -> str:
    names = ", ".join(f"`{check_name(g)}`" for g in gates)
    fixes = "a fix" if count == 1 else f"{count} fixes"
    return (
        f"**canon-gate** suggests {fixes} at `{head_sha[:7]}` ({names}). Each applies with "
        "**Commit suggestion**; the check run lists every finding.\n"
    )


def plan(
    audits: Mapping[str, Report],
    *,
    head_sha: str,
    patches: Mapping[str, str],
    existing: Sequence[ExistingComment],
    app_slug: str,
) -> Plan:
    """Decide the review and the withdrawals for the gates' evaluated audits of `head_sha`.

    A fix is offered once per finding: a finding the App has a comment for (withdrawn or not)
    gets no second one. A comment whose finding its gate's audit no longer reports is withdrawn.
    """
    mine = posted(existing, app_slug)
    offered = {p.finding_id for p in mine}
    comments: list[ReviewComment] = []
    gates: list[str] = []
    outside = already = too_long = over_cap = 0
    # Substantive findings first, then in file order.
    candidates = sorted(
        ((gate, f) for gate, report in audits.items() for f in fixable(report)),
        key=lambda pair: (not pair[1].substantive, _where(pair[1]), pair[1].id),
    )
    for gate, finding in candidates:
        if finding.id in offered:
            already += 1
            continue
        if not in_diff(finding.location, patches):
            outside += 1
            continue
        body = comment_body(finding, gate)
        if body is None:
            too_long += 1
            continue
        if len(comments) == MAX_COMMENTS:
            over_cap += 1
            continue
        offered.add(finding.id)
        loc = finding.location
        comments.append(ReviewComment(loc.path, loc.start_line, loc.end_line, body))
        gates += [gate] if gate not in gates else []
    reported = {gate: {f.id for f in report.findings} for gate, report in audits.items()}
    withdrawals = tuple(
        Withdrawal(p.comment_id, withdrawn_body(p, head_sha))
        for p in mine
        if not p.resolved and p.gate in reported and p.finding_id not in reported[p.gate]
    )[:MAX_WITHDRAWALS]
    review = (
        Review(head_sha, review_body(len(comments), gates, head_sha), tuple(comments))
        if comments
        else None
    )
    return Plan(review, withdrawals, outside, already, too_long, over_cap)
