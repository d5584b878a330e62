"""Pure decisions about starting an audit, from the check runs GitHub already has."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.events import CheckRun
from app.judge.checkrun import ACTIVE
from app.judge.correlate import parse_external_id


@dataclass(frozen=True)
class StartPlan:
    """What to do for an audit request on one head SHA."""

    # Runs to conclude first: overdue ones `timed_out`, displaced ones `cancelled`.
    time_out: list[CheckRun] = field(default_factory=list)
    cancel: list[CheckRun] = field(default_factory=list)
    # A queued run nobody dispatched yet (a crash or a failed delivery): dispatch for it.
    resume: CheckRun | None = None
    skip_reason: str | None = None


JUDGED = frozenset({"success", "failure", "neutral"})


def _trigger_of(run: CheckRun) -> str:
    key = parse_external_id(run.external_id)
    return key.trigger if key else ""


def overdue(run: CheckRun, now: datetime, limit: timedelta) -> bool:
    return run.status in ACTIVE and run.started_at is not None and now - run.started_at > limit


def plan_start(
    existing: Sequence[CheckRun],
    *,
    now: datetime,
    limit: timedelta,
    rerun: bool,
    trigger: str = "",
) -> StartPlan:
    """Decide how to start an audit so there is never a second active run on the SHA.

    `existing` are the App's `canon-gate` runs on the head SHA, newest first. A re-run request
    replaces whatever is active; an automatic trigger (a push, a redelivery) joins it, and an
    already concluded run on the same SHA stands, because the same change was judged.
    """
    existing = sorted(existing, key=lambda r: r.id, reverse=True)
    stale = [r for r in existing if overdue(r, now, limit)]
    active = [r for r in existing if r.status in ACTIVE and r not in stale]
    if rerun:
        # A redelivered re-run request finds the run it already made (its trigger is recorded).
        made = [r for r in existing if trigger and _trigger_of(r) == trigger]
        if made and made[0].status == "queued" and not made[0].details_url:
            return StartPlan(time_out=stale, resume=made[0])
        if made:
            return StartPlan(skip_reason="this re-run request was already handled")
        return StartPlan(time_out=stale, cancel=active)
    if not active:
        # A superseded, timed-out or setup-blocked run did not judge this SHA; audit it.
        judged = any(r.status == "completed" and r.conclusion in JUDGED for r in existing)
        if judged and not stale:
            return StartPlan(skip_reason="this head SHA was already audited")
        return StartPlan(time_out=stale)
    newest, extra = active[0], active[1:]
    # Two replicas may both have created a run in the same instant: keep the newest only.
    if newest.status == "queued" and not newest.details_url:
        return StartPlan(time_out=stale, cancel=extra, resume=newest)
    return StartPlan(time_out=stale, cancel=extra, skip_reason="an audit is already running")
