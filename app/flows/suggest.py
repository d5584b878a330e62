"""Offer a finished audit's suggested fixes as one pull-request review, after every verdict.

Optional and last: the verdicts are written before this starts, and nothing here may change or
stop them. GitHub's rate limits and 5xx are retried by the client (`app.edge.github`); a failure
after that is logged and the completion goes on, because a replayed delivery finds its audit
concluded and would not come back here anyway. The next audit offers what this one could not.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import ClientError
from gidgethub import HTTPException

from action.report import Report
from app.edge import reviews
from app.edge.auth import SUGGEST
from app.edge.context import Context
from app.events import Repository
from app.judge import suggestions
from app.ledger.records import History

log = logging.getLogger(__name__)

# Below this much of the delivery's budget, a review would be cut off half way: leave it.
MIN_SECONDS = 2.0


def earlier_reports(history: History | None, gates: Mapping[str, Report]) -> list[Report] | None:
    """The gates' earlier audits of the PR in the ledger, or None when the ledger did not give
    them all (off, unreadable, or read only from a date)."""
    if history is None or history.covered_from is not None:
        return None
    return [a.report for a in history.audits if a.report.run.gate in gates]


async def offer(
    ctx: Context,
    *,
    installation_id: int,
    repo: Repository,
    pr: int,
    head_sha: str,
    audits: Mapping[str, Report],
    history: History | None,
) -> None:
    """Post the review `judge.suggestions.plan` decides for the gates' evaluated `audits` of
    `head_sha`, and withdraw the suggestions whose findings resolved."""
    evaluated = {gate: r for gate, r in audits.items() if r.evaluated}
    if not evaluated or not suggestions.worth_asking(
        evaluated, earlier_reports(history, evaluated)
    ):
        return
    fields = {
        "delivery_id": ctx.delivery_id,
        "repo": repo.full_name,
        "pr": pr,
        "gates": sorted(evaluated),
    }
    if ctx.remaining() < MIN_SECONDS:
        log.warning("suggestions.skipped_late", extra=fields)
        return
    try:
        gh = await ctx.client(installation_id, repo.id, SUGGEST)
        slug = await ctx.github_app.slug(deadline=ctx.deadline)
        # Nothing to offer (only withdrawals to check): the diff is not needed.
        offering = any(suggestions.fixable(r) for r in evaluated.values())
        plan = suggestions.plan(
            evaluated,
            head_sha=head_sha,
            patches=await reviews.patches(gh, repo, pr) if offering else {},
            existing=await reviews.review_comments(gh, repo, pr),
            app_slug=slug,
        )
        if plan.review is not None:
            await reviews.post_review(gh, repo, pr, plan.review)
        for withdrawal in plan.withdrawals:
            await reviews.edit_comment(gh, repo, withdrawal.comment_id, withdrawal.body)
    except Exception as exc:
        # The verdicts stand whatever happens, and there is a real fallback (no suggestions this
        # time), so every failure lands here: GitHub's errors after retries, a token the
        # installation cannot grant (`pull_requests: write` not yet accepted), or our own bug,
        # which the traceback shows.
        log.warning(
            "suggestions.failed",
            extra={**fields, "error_type": type(exc).__name__, "error": str(exc)[:300]},
            exc_info=not _expected(exc),
        )
        return
    log.info(
        "suggestions.offered",
        extra={
            **fields,
            "posted": len(plan.review.comments) if plan.review else 0,
            "withdrawn": len(plan.withdrawals),
            "outside_diff": plan.outside_diff,
            "already_offered": plan.already,
            "too_long": plan.too_long,
            "over_cap": plan.over_cap,
        },
    )


def _expected(exc: Exception) -> bool:
    """GitHub's answers and the network's failures need no traceback; anything else does."""
    return isinstance(exc, HTTPException | ClientError | TimeoutError)
