"""After a verdict on a head that several open PRs share, post their conjunction as the newest run.

Branch protection reads the newest `canon-gate` run on a commit. Each PR with this head is
judged under its own base's governance key; the combined run is success only if every one of
them passed (`app.judge.combine`).
"""

from __future__ import annotations

import logging

from gidgethub.abc import GitHubAPI

from app.edge import checks
from app.edge.context import Context
from app.edge.governs import read_at_base
from app.edge.repos import get_pull
from app.events import Repository
from app.judge.checkrun import ACTIVE, CHECK_NAME
from app.judge.combine import PrVerdict, combine, combined_external_id
from app.judge.correlate import parse_external_id
from app.judge.links import Links

log = logging.getLogger(__name__)


async def post_conjunction(
    ctx: Context,
    gh: GitHubAPI,
    repo: Repository,
    head_sha: str,
    *,
    after: int,
    links: Links,
    name: str = CHECK_NAME,
) -> None:
    """Post the combined run of check `name` (`canon-gate`, or a gate's) when more than one open
    PR has this head; else do nothing."""
    runs = await checks.list_runs(gh, repo, head_sha, ctx.github_app.app_id, name)
    keyed = [(run, key) for run in runs if (key := parse_external_id(run.external_id))]
    numbers = sorted({key.pr for _, key in keyed})
    if len(numbers) < 2:
        return
    verdicts = []
    for number in numbers:
        pull = await get_pull(gh, repo, number)
        if pull.state != "open" or pull.head.sha != head_sha:
            continue
        now = await read_at_base(gh, repo, pull.base.sha, cache=ctx.governs)
        current = [run for run, key in keyed if key.pr == number and key.governance == now.key]
        newest = current[0] if current else None  # list_runs answers newest first
        done = newest is not None and newest.status not in ACTIVE
        verdicts.append(
            PrVerdict(
                pr=number,
                base_ref=pull.base.ref,
                conclusion=newest.conclusion if done and newest else None,
                check_run_id=newest.id if newest else None,
            )
        )
    result = combine(verdicts, links)
    if result is None:
        return
    await checks.ensure_concluded(
        gh,
        repo,
        head_sha,
        result,
        app_id=ctx.github_app.app_id,
        external_id=combined_external_id(head_sha, after),
        name=name,
    )
    log.info(
        "conjunction.posted",
        extra={"repo": repo.full_name, "head": head_sha, "conclusion": result.conclusion},
    )
