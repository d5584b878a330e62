"""Pure decisions about starting an audit, from the check runs GitHub already has."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from app.events import CheckRun
from app.judge.checkrun import ACTIVE
from app.judge.correlate import AuditKey, parse_external_id, workflow_run_id_of


@dataclass(frozen=True)
class StartPlan:
    """What to do for an audit request on one head SHA."""

    # Runs to conclude first: overdue ones `timed_out`, displaced ones `cancelled`.
    time_out: list[CheckRun] = field(default_factory=list)
    cancel: list[CheckRun] = field(default_factory=list)
    # A queued run nobody dispatched yet (a crash or a failed delivery): dispatch for it.
    resume: CheckRun | None = None
    skip_reason: str | None = None
    # Set when a new session would pass `limits.sessions_per_head`: conclude, do not dispatch.
    sessions_spent: int | None = None


JUDGED = frozenset({"success", "failure", "neutral"})


def _key_of(run: CheckRun) -> AuditKey | None:
    return parse_external_id(run.external_id)


def overdue(run: CheckRun, now: datetime, limit: timedelta) -> bool:
    return run.status in ACTIVE and run.started_at is not None and now - run.started_at > limit


def plan_start(
    existing: Sequence[CheckRun],
    *,
    pr: int,
    governance: str,
    now: datetime,
    limit: timedelta,
    rerun: bool,
    trigger: str = "",
    sessions_per_head: int | None = None,
) -> StartPlan:
    """Decide how to start an audit of PR `pr` under the governance key `governance`.

    `existing` are the App's `canon-gate` runs on the head SHA. Only a run of this PR under this
    key can stand for this audit: a verdict judged against another base, or for another PR with
    the same head, never satisfies it. A re-run request replaces whatever this PR has active; an
    automatic trigger (a push, a redelivery) joins an active run under the same key, replaces one
    under another key (the base changed), and stands by a concluded one (the same change was
    judged against the same governance). Overdue runs of any PR are timed out on the way.
    """
    existing = sorted(existing, key=lambda r: r.id, reverse=True)
    stale = [r for r in existing if overdue(r, now, limit)]
    keyed = [(r, k) for r in existing if (k := _key_of(r)) is not None and k.pr == pr]
    active = [r for r, _ in keyed if r.status in ACTIVE and r not in stale]
    if rerun:
        # A redelivered re-run request finds the run it already made (its trigger is recorded).
        made = [r for r, k in keyed if trigger and k.trigger == trigger]
        if made and made[0].status == "queued" and not made[0].details_url:
            return StartPlan(time_out=stale, resume=made[0])
        if made:
            return StartPlan(skip_reason="this re-run request was already handled")
        return _fresh(StartPlan(time_out=stale, cancel=active), existing, sessions_per_head)
    same = [(r, k) for r, k in keyed if governance and k.governance == governance]
    same_ids = {run.id for run, _ in same}
    retargeted = [r for r in active if r.id not in same_ids]
    current = [r for r, _ in same if r.status in ACTIVE and r not in stale]
    if not current:
        # The PR's newest run is what branch protection reads: it stands only if it judged this
        # head under this key. A superseded, timed-out or setup-blocked run did not; audit again.
        latest = keyed[0] if keyed else None
        judged = (
            latest is not None
            and latest[1].governance == governance != ""
            and latest[0].status == "completed"
            and latest[0].conclusion in JUDGED
        )
        if judged and not stale:
            return StartPlan(skip_reason="this head was already audited under this governance")
        return _fresh(StartPlan(time_out=stale, cancel=retargeted), existing, sessions_per_head)
    newest, extra = current[0], current[1:]
    # Two replicas may both have created a run in the same instant: keep the newest only.
    if newest.status == "queued" and not newest.details_url:
        return StartPlan(time_out=stale, cancel=extra + retargeted, resume=newest)
    return StartPlan(
        time_out=stale, cancel=extra + retargeted, skip_reason="an audit is already running"
    )


def _fresh(plan: StartPlan, existing: Sequence[CheckRun], limit: int | None) -> StartPlan:
    """A plan that creates a run: refused its session when the head has spent its limit."""
    spent = sum(1 for r in existing if workflow_run_id_of(r.details_url) is not None)
    if limit is not None and spent >= limit:
        return replace(plan, sessions_spent=spent)
    return plan
