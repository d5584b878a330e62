"""Recover lost deliveries: read GitHub's delivery log, redeliver what failed on our side.

GitHub does not redeliver by itself. A delivery the App answered 5xx, or never answered because it
was down, stays lost unless someone asks again, so the App asks: once at start-up (or as soon as
the registration flow configures it) and then every `redeliver_interval_seconds`. Processing is
idempotent, so a redelivery never makes a second check run.
https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime, timedelta

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from app.edge import metrics
from app.edge.github import GitHubApp
from app.edge.runtime import RUNTIME, Runtime
from app.flows.canon_change import CanonChanges
from app.flows.sweep import Sweep

log = logging.getLogger(__name__)

# GitHub keeps the delivery log for 3 days; older deliveries cannot be redelivered.
MAX_WINDOW = timedelta(days=3)
PASS_BUDGET_SECONDS = 60.0


class DeliveryRecord(BaseModel):
    """One attempt in GitHub's delivery log (`GET /app/hook/deliveries`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    guid: str
    delivered_at: datetime
    redelivery: bool = False
    status_code: int = 0
    event: str = ""
    action: str | None = None
    installation_id: int | None = None
    repository_id: int | None = None


def failed_on_our_side(record: DeliveryRecord) -> bool:
    """A 5xx, or no answer at all (GitHub logs 0), is ours to replay; a 4xx would fail again."""
    return record.status_code == 0 or record.status_code >= 500


def to_redeliver(
    records: Iterable[DeliveryRecord], *, attempted: Mapping[str, float] | None = None
) -> list[DeliveryRecord]:
    """Choose the deliveries to redeliver, oldest first, at most one per GUID.

    A GUID is redelivered when it failed on our side and none of its attempts succeeded. One
    that was redelivered already (by us or by hand) is left alone, so an event that always
    fails is tried once more, not forever.
    """
    attempted = attempted or {}
    by_guid: dict[str, list[DeliveryRecord]] = {}
    for record in records:
        by_guid.setdefault(record.guid, []).append(record)
    chosen = []
    for guid, attempts in by_guid.items():
        if guid in attempted:
            continue
        if any(200 <= a.status_code < 300 or a.redelivery for a in attempts):
            continue
        latest = max(attempts, key=lambda a: (a.delivered_at, a.id))
        if failed_on_our_side(latest):
            chosen.append(latest)
    return sorted(chosen, key=lambda a: (a.delivered_at, a.id))


class Reconciler:
    """The background task's state: GUIDs already asked for, and a wake-up call."""

    def __init__(self) -> None:
        self.attempted: dict[str, float] = {}
        self.sweep = Sweep()
        self.canon_changes = CanonChanges()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Run a pass now (the registration flow calls this once the App is configured)."""
        self._wake.set()

    async def fetch(self, github_app: GitHubApp, since: datetime) -> list[DeliveryRecord]:
        """Read the delivery log, newest first, until it is older than `since`."""
        deadline = asyncio.get_running_loop().time() + PASS_BUDGET_SECONDS
        gh = github_app.app_client(deadline=deadline)
        records: list[DeliveryRecord] = []
        pages = gh.getiter("/app/hook/deliveries?per_page=100", jwt=github_app.jwt())
        async with contextlib.aclosing(pages) as items:
            async for item in items:
                record = DeliveryRecord.model_validate(item)
                if record.delivered_at < since:
                    break
                records.append(record)
        return records

    async def reconcile(
        self, github_app: GitHubApp, window: timedelta, audit_limit: timedelta | None = None
    ) -> int:
        """One pass: redeliver each delivery that failed on our side; return how many.

        With `audit_limit`, the pass then sweeps the heads the log names for audits overdue by
        that limit (`app.flows.sweep`). Last, it handles the pushes the log names that changed
        what governs (`app.flows.canon_change`), within a budget of its own.
        """
        now = time.time()
        window = min(window, MAX_WINDOW)
        self.attempted = {
            g: t for g, t in self.attempted.items() if now - t < window.total_seconds()
        }
        records = await self.fetch(github_app, datetime.now(UTC) - window)
        chosen = to_redeliver(records, attempted=self.attempted)
        deadline = asyncio.get_running_loop().time() + PASS_BUDGET_SECONDS
        gh = github_app.app_client(deadline=deadline)
        for record in chosen:
            # Remember before asking: if the POST fails half-way we must not ask twice.
            self.attempted[record.guid] = now
            # Redeliveries are mutating calls: made one at a time, as GitHub asks.
            await gh.post(
                "/app/hook/deliveries/{delivery_id}/attempts",
                url_vars={"delivery_id": str(record.id)},
                data=b"",
                jwt=github_app.jwt(),
            )
            metrics.REDELIVERIES.inc()
            log.info(
                "recovery.redelivered",
                extra={
                    "delivery_id": record.guid,
                    "event": record.event,
                    "action": record.action,
                    "status": record.status_code,
                },
            )
        swept = 0
        if audit_limit is not None:
            swept = await self.sweep.run(github_app, records, limit=audit_limit, deadline=deadline)
        changes = await self.canon_changes.run(
            github_app, records, deadline=asyncio.get_running_loop().time() + PASS_BUDGET_SECONDS
        )
        log.info(
            "recovery.pass",
            extra={
                "seen": len(records),
                "redelivered": len(chosen),
                "timed_out": swept,
                "canon_change_actions": changes,
            },
        )
        return len(chosen)

    async def run(self, runtime: Runtime) -> None:
        """Reconcile at start, then every interval; in setup mode wait until configured."""
        while True:
            settings = runtime.settings
            github_app = runtime.github_app
            self._wake.clear()
            if github_app is not None:
                await self._safe_pass(
                    github_app,
                    timedelta(hours=settings.redeliver_window_hours),
                    timedelta(seconds=settings.audit_timeout_seconds),
                )
            interval = max(1, settings.redeliver_interval_seconds)
            timeout = interval if github_app is not None else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    async def _safe_pass(
        self, github_app: GitHubApp, window: timedelta, audit_limit: timedelta
    ) -> None:
        try:
            await self.reconcile(github_app, window, audit_limit)
        except Exception as exc:
            # GitHub down, rate limited or refusing: the next pass tries again.
            metrics.RECONCILE_PASSES.labels(outcome="error").inc()
            log.warning("recovery.pass_failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        else:
            metrics.RECONCILE_PASSES.labels(outcome="ok").inc()


RECONCILER = web.AppKey("reconciler", Reconciler)


def attach(app: web.Application) -> None:
    """Give the App its reconciler before it starts; it wakes whenever the App is configured."""
    reconciler = Reconciler()
    app[RECONCILER] = reconciler
    app[RUNTIME].on_configure.append(reconciler.wake)


async def background(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: run the reconciler for the App's life and stop it cleanly on shutdown."""
    runtime = app[RUNTIME]
    reconciler = app.get(RECONCILER)
    if reconciler is None or runtime.settings.redeliver_interval_seconds <= 0:
        log.info("recovery.disabled")
        yield
        return
    task = asyncio.create_task(reconciler.run(runtime), name="canon-gate-reconciler")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
