"""Canon changes re-judge open pull requests (`reaudit_on_canon_change`), in the background.

The `push` handler only notes a push to the default branch: a delivery must be answered within
10 s, and re-judging many pull requests is many content-creating requests, of which GitHub allows
80 a minute. The reconciler's pass (`app.flows.recovery`) finds those pushes in the App's own
delivery log, compares the governance key before and after each, and, within a budget, audits
the newest stale pull requests again and marks the rest (`app.judge.canon_change` decides).
Safe with several replicas and across restarts: what was done for a push is keyed on it in the
check runs themselves, so a pass that stopped half-way, or another replica, carries on.
https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from gidgethub import BadRequest, sansio
from gidgethub.abc import GitHubAPI
from gidgethub.routing import Router
from pydantic import ValidationError

from app.edge import checks
from app.edge.auth import READ_PR
from app.edge.context import Context
from app.edge.github import GitHubApp
from app.edge.governs import GovernsCache, read_at_base
from app.edge.runtime import DeliveryCache
from app.events import PushEvent, Repository
from app.flows.checkset import post_concluded
from app.flows.start import start_audit
from app.judge import canon_change
from app.judge.correlate import AuditKey

log = logging.getLogger(__name__)
router = Router()

# Push deliveries read per pass (one GET each), and pull requests audited or marked per pass
# (each several content-creating requests): what is left waits for the next pass.
PUSHES_PER_PASS = 10
ACTIONS_PER_PASS = 10
# Open pull requests looked at per push, newest first: one page.
PULLS_PER_PUSH = 100


@router.register("push")
async def on_push(event: sansio.Event, ctx: Context) -> None:
    """Note a push to the default branch; the background pass compares what governs."""
    ev = PushEvent.model_validate(event.data)
    repo = ev.repository
    if not canon_change.worth_comparing(ev.ref, ev.before, ev.after, repo.default_branch):
        return
    log.info(
        "canon_change.push_noted",
        extra={"delivery_id": ctx.delivery_id, "repo": repo.full_name, "after": ev.after},
    )


class CanonChanges:
    """The pass over pushes; remembers the deliveries it finished (an optimisation only)."""

    def __init__(self, remember: int = 5_000) -> None:
        self._done = DeliveryCache(remember)
        self.governs = GovernsCache()

    async def run(
        self, github_app: GitHubApp, deliveries: Sequence[Any], *, deadline: float
    ) -> int:
        """Handle the pushes in the delivery log (newest first); return the pull requests
        audited or marked."""
        loop = asyncio.get_running_loop()
        pushes = [d for d in deliveries if d.event == "push" and d.guid not in self._done]
        budget = [ACTIONS_PER_PASS]
        acted = 0
        app_client = github_app.app_client(deadline=deadline)
        for delivery in pushes[:PUSHES_PER_PASS]:
            if loop.time() > deadline or budget[0] <= 0:
                break
            detail: Any = await app_client.getitem(
                "/app/hook/deliveries/{delivery_id}",
                url_vars={"delivery_id": str(delivery.id)},
                jwt=github_app.jwt(),
            )
            payload = (detail.get("request") or {}).get("payload") or {}
            before = budget[0]
            try:
                ev = PushEvent.model_validate(payload)
                done = await self._push(github_app, ev, delivery.guid, deadline, budget)
            except ValidationError:
                done = True  # not a push the App can act on
            except BadRequest as exc:
                # The installation or repository is gone (a 4xx that is not a rate limit).
                done = int(exc.status_code) in (403, 404, 410, 422)
                log.info("canon_change.unreachable", extra={"status": int(exc.status_code)})
            acted += before - budget[0]
            if done:
                self._done.add(delivery.guid)
        if acted:
            log.info("canon_change.pass", extra={"pull_requests": acted})
        return acted

    async def _push(
        self,
        github_app: GitHubApp,
        ev: PushEvent,
        guid: str,
        deadline: float,
        budget: list[int],
    ) -> bool:
        """Handle one push; True once nothing is left to do for it."""
        repo = ev.repository
        if not canon_change.worth_comparing(ev.ref, ev.before, ev.after, repo.default_branch):
            return True
        gh = await github_app.installation_client(
            ev.installation.id, repo.id, READ_PR, deadline=deadline
        )
        before = await read_at_base(gh, repo, ev.before, cache=self.governs)
        after = await read_at_base(gh, repo, ev.after, cache=self.governs)
        if before.key == after.key:
            return True  # no canon or config changed: every verdict still holds
        # What governs now is the branch's tip: a later push may have moved it on.
        ref: Any = await gh.getitem(
            "/repos/{owner}/{repo}/git/ref/heads/{+branch}",
            url_vars={"owner": repo.owner, "repo": repo.name, "branch": repo.default_branch},
        )
        tip = str(ref["object"]["sha"])
        now = await read_at_base(gh, repo, tip, cache=self.governs)
        option = now.config.reaudit_on_canon_change
        if not option.enabled:
            return True
        pulls = await _open_pulls(gh, github_app, repo)
        plan = canon_change.plan(
            pulls, key_now=now.key, after_sha=ev.after, max_per_push=option.max_per_push
        )
        ctx = Context(
            github_app=github_app,
            settings=github_app.settings,
            http=github_app.session,
            delivery_id=f"canon-change-{guid}",
            deadline=deadline,
            governs=self.governs,
        )
        fields = {"repo": repo.full_name, "after": ev.after}
        for pull in plan.audit:
            if budget[0] <= 0:
                return False
            budget[0] -= 1
            key = AuditKey(
                pull.number, pull.head_sha, tip, trigger=canon_change.audit_trigger(ev.after)
            )
            # Its head passed before at this very commit, so a fork's approval already held.
            await start_audit(ctx, gh, repo, key, rerun=True, approved=True)
            log.info("canon_change.reaudit", extra={**fields, "pr": pull.number})
        stale = canon_change.predates_change(ev.after, repo.default_branch)
        for pull in plan.mark:
            if budget[0] <= 0:
                return False
            budget[0] -= 1
            key = AuditKey(
                pull.number,
                pull.head_sha,
                tip,
                governance=now.key,
                trigger=canon_change.mark_trigger(ev.after),
            )
            await post_concluded(ctx, gh, repo, key, now, lambda _: stale)
            log.info("canon_change.marked", extra={**fields, "pr": pull.number})
        return True


async def _open_pulls(
    gh: GitHubAPI, github_app: GitHubApp, repo: Repository
) -> list[canon_change.OpenPull]:
    """The open pull requests into the default branch, newest first, with their `canon-gate`
    runs (one GET each)."""
    data: Any = await gh.getitem(
        "/repos/{owner}/{repo}/pulls{?state,base,sort,direction,per_page}",
        url_vars={
            "owner": repo.owner,
            "repo": repo.name,
            "state": "open",
            "base": repo.default_branch,
            "sort": "created",
            "direction": "desc",
            "per_page": str(PULLS_PER_PUSH),
        },
    )
    pulls = []
    for item in data if isinstance(data, list) else []:
        head = str(item["head"]["sha"])
        runs = await checks.list_runs(gh, repo, head, github_app.app_id)
        pulls.append(canon_change.OpenPull(int(item["number"]), head, runs))
    return pulls
