"""`canon-gate/structure` when the structural check has no problems to report, or did not run.

A repository may require `canon-gate/structure` (the README suggests it), so it is posted on every
pull request head and merge group, whatever the change touches: a required check that never
reports stalls the merge. Pure, like `app.judge.structure`, which renders a check that ran.
"""

from __future__ import annotations

from typing import cast, get_args

from action.markdown import inline, shorten
from app.judge import render
from app.judge.checkrun import CheckRunResult, Conclusion
from app.judge.links import Links

_NO_LINKS = Links()
NO_CANON_CHANGED = "Canon structure: no canon changed"
_CONCLUSIONS = frozenset(get_args(Conclusion))


def no_canon_changed(*, links: Links = _NO_LINKS) -> CheckRunResult:
    """Conclude `neutral`: the change touches no canon document, so there was nothing to check."""
    parts = [
        render.headline("⚪", NO_CANON_CHANGED),
        "This change touches no canon document, so the structural check had nothing to check.",
        links.markdown(),
    ]
    return CheckRunResult("neutral", NO_CANON_CHANGED, render.page(parts, links))


def structure_unchecked(
    reason: str, conclusion: str, said: str, *, links: Links = _NO_LINKS
) -> CheckRunResult:
    """Conclude the structure check of an audit that ended without a usable structure report.

    It takes the audit's conclusion (`said` is its title) when that is not a pass (the audit
    failed, or needs action), and `action_required` when it is: a check that did not run never
    passes.
    """
    passed = conclusion in ("success", "neutral")
    own: Conclusion = "action_required"
    if not passed and conclusion in _CONCLUSIONS:
        own = cast(Conclusion, conclusion)
    title = shorten(f"Canon structure not checked: {reason}", render.MAX_TITLE)
    parts = [
        render.headline("⚠️", title),
        (
            "The structural check did not report, although the audit did. The workflow may be "
            "older than this App: `canon-gate init --force` writes the current one."
            if passed
            else f"The audit ended without checking the canon's structure: {inline(said)}."
        ),
        "Press **Re-run** or comment `/canon-gate rerun` to try again.",
        links.markdown(),
    ]
    return CheckRunResult(conclusion=own, title=title, summary=render.page(parts, links))
