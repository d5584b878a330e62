"""One head, several open PRs into different bases: the newest check run is their conjunction.

Check runs belong to commits, not to PRs, and branch protection reads the newest `canon-gate`
run on a head. When two open PRs share a head, each is audited under its own base's governance;
after each verdict the App posts a combined run, newer than both, that passes only when every
one of them passed. Pure: the handler gathers the verdicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from action.markdown import inline
from app.judge import render
from app.judge.checkrun import CheckRunResult, Conclusion
from app.judge.links import Links

COMBINED_PREFIX = "canon-gate:combined:v1:"
_PASSING = frozenset({"success", "neutral"})
_NO_LINKS = Links()


@dataclass(frozen=True)
class PrVerdict:
    """One open PR with this head: its base, and its verdict under its base's key now."""

    pr: int
    base_ref: str
    # None while no verdict under the current key exists (not audited yet, or running).
    conclusion: str | None
    check_run_id: int | None = None


def combined_external_id(head_sha: str, after_check_run: int) -> str:
    """The combined run posted after one verdict: one per verdict, so a redelivery finds it."""
    return f"{COMBINED_PREFIX}head={head_sha}:after={after_check_run}"


def combine(verdicts: Sequence[PrVerdict], links: Links = _NO_LINKS) -> CheckRunResult | None:
    """The conjunction of the verdicts, or None when only one open PR has this head."""
    if len(verdicts) < 2:
        return None
    ordered = sorted(verdicts, key=lambda v: v.pr)
    failed = [v for v in ordered if v.conclusion is not None and v.conclusion not in _PASSING]
    pending = [v for v in ordered if v.conclusion is None]
    conclusion: Conclusion
    if failed:
        conclusion, icon = "failure", "❌"
        title = f"Not every pull request with this head passed ({len(failed)} did not)"
    elif pending:
        conclusion, icon = "action_required", "⏳"
        title = f"Waiting for {render.plural(len(pending), 'pull request')} with this head"
    else:
        conclusion, icon = "success", "✅"
        title = f"Passed for all {len(ordered)} pull requests with this head"
    rows = [
        f"| #{v.pr} | {inline(v.base_ref)} | {v.conclusion or 'not judged yet'} |" for v in ordered
    ]
    parts = [
        render.headline(icon, title),
        "This commit is the head of several open pull requests into different bases. Each is "
        "judged against what governs its own base; this check passes only when all of them do.",
        "\n".join(["| Pull request | Base | Verdict |", "| --- | --- | --- |", *rows]),
        links.markdown(),
    ]
    return CheckRunResult(conclusion=conclusion, title=title, summary=render.page(parts, links))
