"""Pure decisions about starting an audit, from the check runs GitHub already has."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.checks import ACTIVE
from app.events import CheckRun


@dataclass(frozen=True)
class StartPlan:
    """What to do for an audit request on one head SHA."""

    # Runs to conclude first: overdue ones `timed_out`, displaced ones `cancelled`.
    time_out: list[CheckRun] = field(default_factory=list)
    cancel: list[CheckRun] = field(default_factory=list)
    # A queued run nobody dispatched yet (a crash or a failed delivery): dispatch for it.
    resume: CheckRun | None = None
    create: bool = False
    skip_reason: str | None = None


def overdue(run: CheckRun, now: datetime, limit: timedelta) -> bool:
    return run.status in ACTIVE and run.started_at is not None and now - run.started_at > limit


def plan_start(
    existing: Sequence[CheckRun], *, now: datetime, limit: timedelta, rerun: bool
) -> StartPlan:
    """Decide how to start an audit so there is never a second active run on the SHA.

    `existing` are the App's `canon-gate` runs on the head SHA, newest first. A re-run request
    replaces whatever is active; an automatic trigger (a push, a redelivery) joins it, and an
    already concluded run on the same SHA stands, because the same change was judged.
    """
    stale = [r for r in existing if overdue(r, now, limit)]
    active = [r for r in existing if r.status in ACTIVE and r not in stale]
    if rerun:
        return StartPlan(time_out=stale, cancel=active, create=True)
    if not active:
        if any(r.status == "completed" for r in existing) and not stale:
            return StartPlan(skip_reason="this head SHA was already audited")
        return StartPlan(time_out=stale, create=True)
    newest, extra = active[0], active[1:]
    # Two replicas may both have created a run in the same instant: keep the newest only.
    if newest.status == "queued" and not newest.details_url:
        return StartPlan(time_out=stale, cancel=extra, resume=newest)
    return StartPlan(time_out=stale, cancel=extra, skip_reason="an audit is already running")
