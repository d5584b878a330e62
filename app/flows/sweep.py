"""The sweep: conclude every overdue audit `timed_out`, with Re-run, even with the App restarted.

A check run whose workflow never reported back, and whose completion delivery was lost for good,
would otherwise stay `in_progress` forever. Each reconciler pass reads candidates from GitHub's
delivery log (`app.judge.sweep`), fetches the payloads of those old enough to matter, within a
budget, and concludes the App's overdue runs on the heads they name. Safe with several replicas:
concluding a run twice gives the same result, and a run already concluded is left alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from gidgethub import BadRequest

from app.edge import checks
from app.edge.auth import SWEEP
from app.edge.github import GitHubApp
from app.edge.repos import get_pull
from app.edge.runtime import DeliveryCache
from app.events import CheckRun
from app.judge import outcomes
from app.judge.plan import overdue
from app.judge.sweep import Target, target_of, worth_sweeping

log = logging.getLogger(__name__)

# Payloads fetched per pass: each is one GET; a pass must stay cheap (secondary rate limits).
PAYLOADS_PER_PASS = 25


class Sweep:
    """Remembers deliveries already swept clean (an optimisation: a restart sweeps them again)."""

    def __init__(self, remember: int = 5_000) -> None:
        self._clean = DeliveryCache(remember)

    async def run(
        self,
        github_app: GitHubApp,
        deliveries: Sequence[Any],
        *,
        limit: timedelta,
        deadline: float,
    ) -> int:
        """Sweep the deliveries' heads; return how many overdue runs were concluded."""
        now = datetime.now(UTC)
        fresh = [
            d
            for d in deliveries
            if d.guid not in self._clean and worth_sweeping(d.event, d.delivered_at, now, limit)
        ]
        concluded = 0
        swept: set[Target] = set()  # many deliveries name one head: look at each head once
        app_client = github_app.app_client(deadline=deadline)
        for delivery in fresh[:PAYLOADS_PER_PASS]:
            if asyncio.get_running_loop().time() > deadline:
                break
            detail: Any = await app_client.getitem(
                "/app/hook/deliveries/{delivery_id}",
                url_vars={"delivery_id": str(delivery.id)},
                jwt=github_app.jwt(),
            )
            payload = (detail.get("request") or {}).get("payload") or {}
            target = target_of(delivery.event, payload) if isinstance(payload, dict) else None
            if target is not None and target not in swept:
                swept.add(target)
                try:
                    concluded += await self._sweep(github_app, target, now, limit, deadline)
                except BadRequest as exc:
                    # The installation or repository is gone: nothing left to conclude there.
                    log.info("sweep.unreachable", extra={"status": int(exc.status_code)})
            self._clean.add(delivery.guid)
        if concluded:
            log.info("sweep.concluded", extra={"runs": concluded})
        return concluded

    async def _sweep(
        self,
        github_app: GitHubApp,
        target: Target,
        now: datetime,
        limit: timedelta,
        deadline: float,
    ) -> int:
        gh = await github_app.installation_client(
            target.installation_id, target.repo.id, SWEEP, deadline=deadline
        )
        runs: list[CheckRun]
        if target.check_run_id is not None:
            runs = [await checks.get_run(gh, target.repo, target.check_run_id)]
        else:
            head = target.head_sha
            if head is None and target.pr is not None:
                head = (await get_pull(gh, target.repo, target.pr)).head.sha
            if head is None:
                return 0
            # Every name: a gate's run can be left open as well as `canon-gate`.
            runs = await checks.list_all_runs(gh, target.repo, head, github_app.app_id)
        stale = [
            r for r in runs if overdue(r, now, limit) and r.app and r.app.id == github_app.app_id
        ]
        for run in stale:
            await checks.conclude(gh, target.repo, run.id, outcomes.overdue(limit, run.started_at))
        return len(stale)
