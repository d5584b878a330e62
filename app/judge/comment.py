"""The optional lifecycle summary comment on a PR: its body, and whether to update or create it.

The comment carries a hidden marker so the App finds its own comment again and edits it in place,
never posting a second one (config `comment: true`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from action.markdown import cell
from action.report import Finding
from app.judge.lifecycle import FindingState, Lifecycle
from app.ledger.waivers import Waiver

MARKER = "<!-- canon-gate:lifecycle -->"
# GitHub caps an issue comment body at 65,536 characters.
MAX_BODY = 65_000
_TITLES = {
    FindingState.NEW: "New",
    FindingState.PERSISTING: "Persisting",
    FindingState.WAIVED: "Waived",
    FindingState.RESOLVED: "Resolved",
}


@dataclass(frozen=True)
class ExistingComment:
    id: int
    author: str
    body: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ExistingComment:
        """Read the fields we use from one item of `GET issues/{n}/comments` (or `pulls/`)."""
        user = data.get("user") or {}
        return cls(
            id=int(data["id"]), author=str(user.get("login", "")), body=data.get("body") or ""
        )


@dataclass(frozen=True)
class Create:
    pass


@dataclass(frozen=True)
class Update:
    comment_id: int


def by_app(comment: ExistingComment, app_slug: str) -> bool:
    """Whether the App wrote a comment: its author is the App's bot, `<slug>[bot]`."""
    return comment.author.lower() == f"{app_slug.lower()}[bot]"


def choose(existing: Sequence[ExistingComment], app_slug: str) -> Create | Update:
    """Update the App's own marked comment (the oldest, if a race made two), else create one.

    Only the App's own comments count: anyone can paste the marker into a comment of theirs.
    """
    ours = [c for c in existing if by_app(c, app_slug) and MARKER in c.body]
    return Update(min(c.id for c in ours)) if ours else Create()


def _line(finding: Finding, waiver: Waiver | None) -> str:
    # Findings come from a session that read the PR: every string is hostile, so escape it.
    where = cell(f"{finding.location.path}:{finding.location.start_line}", 200)
    text = f"- `{finding.id}` {finding.classification.value}, {finding.kind.value} at {where}: "
    text += cell(finding.claim, 300)
    if waiver is not None:
        text += f" (waived by {cell('@' + waiver.user, 60)}: {cell(waiver.reason, 300)})"
    return text


def render(
    lifecycle: Lifecycle,
    *,
    conclusion: str,
    head_sha: str,
    waivers: Mapping[str, Waiver],
    details_url: str | None = None,
) -> str:
    """Render the comment body: the verdict and the four lifecycle groups, substantive first."""
    head = f"**canon-gate: {conclusion}** at `{head_sha[:7]}`"
    if details_url:
        head += f" ([details]({details_url}))"
    parts = [MARKER, head]
    for state, group in lifecycle.groups():
        if not group:
            continue
        ordered = sorted(group, key=lambda f: (not f.substantive, f.location.path, f.id))
        lines = [_line(f, waivers.get(f.id)) for f in ordered]
        parts.append(f"### {_TITLES[state]} ({len(group)})\n" + "\n".join(lines))
    if len(parts) == 2:
        parts.append("No findings.")
    parts.append(
        "_Waive a finding with `/canon-gate waive <finding-id> <reason>`; "
        "`/canon-gate help` lists the commands._"
    )
    body = "\n\n".join(parts) + "\n"
    if len(body) > MAX_BODY:
        body = body[: MAX_BODY - 80] + "\n\n_Truncated: see the check run for every finding._\n"
    return body
