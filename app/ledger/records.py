"""The ledger's records: what one verdict or one waiver looks like on `canon-gate/ledger`.

Pure: the record models, where each record lives on the branch, its commit message, the branch's
README, reading a record back, and which waivers are in force. `app/ledger/store.py` writes and
reads them with the Git Data API.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from action.report import DEFAULT_GATE, Finding, Report
from app.ledger.waivers import Audited, Unwaiver, Waiver, settle_waivers

LEDGER_FORMAT = 1


README_PATH = "README.md"


# Record names begin with their UTC time in this form, so they sort in time.
STAMP = "%Y%m%dT%H%M%SZ"


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    format: int = LEDGER_FORMAT
    recorded_at: datetime
    repo: str
    pr: int
    head_sha: str


class AuditRecord(_Record):
    """One concluded audit: the validated report and the verdict it got."""

    kind: Literal["audit"] = "audit"
    base_sha: str | None = None
    # The governance key the verdict was judged under (computed by the App).
    governance_key: str | None = None
    check_run_id: int | None = None
    workflow_run_id: int | None = None
    conclusion: str
    # Unwaived substantive findings at the time of the verdict.
    substantive: int = 0
    cosmetic: int = 0
    waived: list[str] = Field(default_factory=list)
    report: Report
    # Concluded in `mode: advisory`: a failing verdict was recorded (and shown) as neutral.
    advisory: bool = False
    # A merge group's head ref, when the audit was of a merge queue's group: its record lives in
    # the PR's `groups/` folder, apart from the PR's own audits (their lifecycle and waivers).
    group: str | None = None


class WaiverRecord(_Record):
    """One waiver: who let which finding pass on which PR, when and why."""

    kind: Literal["waiver"] = "waiver"
    finding_id: str
    reason: str
    user: str
    comment_url: str | None = None
    # A copy of the waived finding, so the file reads on its own when browsing the branch.
    finding: Finding | None = None
    # The verdict after the waiver, when the caller knows it.
    conclusion: str | None = None
    # When it stops applying (`waivers.expire_days` of the base when it was granted); None: never.
    expires_at: datetime | None = None
    # The gate whose finding it waives.
    gate: str = DEFAULT_GATE

    def to_waiver(self) -> Waiver:
        return Waiver(
            finding_id=self.finding_id,
            reason=self.reason,
            user=self.user,
            at=self.recorded_at,
            pr=self.pr,
            head_sha=self.head_sha,
            expires_at=self.expires_at,
            gate=self.gate,
        )


class UnwaiverRecord(_Record):
    """One `/canon-gate unwaive`: who ended the waiver of which finding on which PR, and when."""

    kind: Literal["unwaive"] = "unwaive"
    finding_id: str
    user: str
    reason: str = ""
    comment_url: str | None = None
    # The verdict after it, when the caller knows it.
    conclusion: str | None = None

    def to_unwaiver(self) -> Unwaiver:
        return Unwaiver(self.finding_id, self.user, self.recorded_at, self.pr)


Record = AuditRecord | WaiverRecord | UnwaiverRecord


class History(NamedTuple):
    """A PR's ledger: its newest audits newest first, and every waiver and unwaiver, oldest first.

    Only records the App trusts are here; `rejected` names the files it did not trust.
    """

    audits: list[AuditRecord]
    waivers: list[WaiverRecord]
    rejected: tuple[tuple[str, str], ...] = ()
    unwaivers: tuple[UnwaiverRecord, ...] = ()
    # When it was read: waivers expire against this clock unless the caller gives another.
    read_at: datetime | None = None
    # `audits` hold every audit recorded at or after this time (None: every audit of the PR).
    covered_from: datetime | None = None
    # The ledger branch's commit it was read at (None: no branch yet).
    tip: str | None = None

    @property
    def latest(self) -> AuditRecord | None:
        return self.audits[0] if self.audits else None

    def latest_of(self, gate: str) -> AuditRecord | None:
        """The newest audit of one gate."""
        return next((a for a in self.audits if a.report.run.gate == gate), None)

    def latest_reporting(self, finding_id: str) -> AuditRecord | None:
        """The newest audit of the gate that reported `finding_id` most recently, or None.

        Finding ids are unique across gates (a gate's name is part of its fingerprint), so the
        finding names its gate; that gate's newest audit is what a waiver of it recomputes.
        """
        holder = next(
            (a for a in self.audits if any(f.id == finding_id for f in a.report.findings)), None
        )
        return self.latest_of(holder.report.run.gate) if holder is not None else None

    def previous(self, check_run_id: int | None, gate: str | None = None) -> AuditRecord | None:
        """The audit a new verdict is compared with: the newest one of the same gate (any gate
        when None) that is not of `check_run_id`.

        A redelivered completion may find its own audit recorded already; it must still compare
        with the one before it.
        """
        return next(
            (
                a
                for a in self.audits
                if a.check_run_id != check_run_id and (gate is None or a.report.run.gate == gate)
            ),
            None,
        )

    def recorded(self, check_run_id: int) -> bool:
        return any(a.check_run_id == check_run_id for a in self.audits)

    def settle(self, now: datetime | None = None) -> tuple[dict[str, Waiver], set[str]]:
        """The PR's waivers in force, and the ids its audits read so far cannot decide."""
        return settle_waivers(
            [w.to_waiver() for w in self.waivers],
            [audited(a) for a in self.audits],
            now=now or self.read_at or _now(),
            unwaivers=[u.to_unwaiver() for u in self.unwaivers],
            covered_from=self.covered_from,
        )

    def waivers_in_force(self, now: datetime | None = None) -> dict[str, Waiver]:
        """Return the PR's waivers that still follow their finding, keyed by finding id.

        An id the audits read cannot decide is not in force: fail closed (`read_history` reads
        until none is left).
        """
        in_force, _ = self.settle(now)
        return in_force


def audited(record: AuditRecord) -> Audited:
    return Audited(record.recorded_at, record.report, frozenset(record.waived))


def _now() -> datetime:
    return datetime.now(UTC)


def audit_record(
    report: Report,
    *,
    repo: str,
    conclusion: str,
    blocking: Collection[str] = (),
    cosmetic: int = 0,
    waived: Collection[str] = (),
    pr: int | None = None,
    head_sha: str | None = None,
    base_sha: str | None = None,
    governance_key: str | None = None,
    check_run_id: int | None = None,
    workflow_run_id: int | None = None,
    at: datetime | None = None,
    advisory: bool = False,
) -> AuditRecord:
    """Build the record of one concluded audit; explicit values win over the report's own.

    `blocking`, `cosmetic` and `waived` are the verdict's own counts (`app.judge.verdict`
    decides them); the record only keeps them.
    """
    run = report.run
    pr = pr if pr is not None else run.pr
    head_sha = head_sha or run.head_sha
    if pr is None or not head_sha:
        raise ValueError("an audit record needs the PR number and head SHA")
    return AuditRecord(
        recorded_at=at or _now(),
        repo=repo,
        pr=pr,
        head_sha=head_sha,
        base_sha=base_sha or run.base_sha,
        governance_key=governance_key or run.governance_key,
        check_run_id=check_run_id if check_run_id is not None else run.check_run_id,
        workflow_run_id=workflow_run_id if workflow_run_id is not None else run.workflow_run_id,
        conclusion=conclusion,
        substantive=len(blocking),
        cosmetic=cosmetic,
        waived=sorted(waived),
        report=report,
        advisory=advisory,
    )


def waiver_record(
    waiver: Waiver,
    *,
    repo: str,
    finding: Finding | None = None,
    conclusion: str | None = None,
    comment_url: str | None = None,
) -> WaiverRecord:
    return WaiverRecord(
        recorded_at=waiver.at,
        repo=repo,
        pr=waiver.pr,
        head_sha=waiver.head_sha,
        finding_id=waiver.finding_id,
        reason=waiver.reason,
        user=waiver.user,
        comment_url=comment_url,
        finding=finding,
        conclusion=conclusion,
        expires_at=waiver.expires_at,
        gate=waiver.gate,
    )


def unwaiver_record(
    unwaiver: Unwaiver,
    *,
    repo: str,
    head_sha: str,
    reason: str = "",
    conclusion: str | None = None,
    comment_url: str | None = None,
) -> UnwaiverRecord:
    return UnwaiverRecord(
        recorded_at=unwaiver.at,
        repo=repo,
        pr=unwaiver.pr,
        head_sha=head_sha,
        finding_id=unwaiver.finding_id,
        user=unwaiver.user,
        reason=reason,
        comment_url=comment_url,
        conclusion=conclusion,
    )


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime(STAMP)


def record_path(record: Record) -> str:
    """Return where a record lives on the branch; the UTC timestamp first, so names sort in time."""
    prefix = f"prs/{record.pr}"
    if isinstance(record, WaiverRecord):
        return f"{prefix}/waivers/{_stamp(record.recorded_at)}-{record.finding_id}.json"
    if isinstance(record, UnwaiverRecord):
        return f"{prefix}/waivers/{_stamp(record.recorded_at)}-{record.finding_id}-unwaive.json"
    if record.check_run_id is not None:
        run = str(record.check_run_id)
    elif record.workflow_run_id is not None:
        run = f"run{record.workflow_run_id}"
    else:
        run = "manual"
    folder = "groups" if record.group else "audits"
    return f"{prefix}/{folder}/{_stamp(record.recorded_at)}-{record.head_sha[:7]}-{run}.json"


# Every audit record's commit subject begins so (`history.sessions_since` counts them).
AUDIT_SUBJECT = "canon-gate: PR #"


def commit_message(record: Record) -> str:
    """Say what happened, in a subject line a person can scan in the branch's history."""
    if isinstance(record, WaiverRecord | UnwaiverRecord):
        verb = "waive" if isinstance(record, WaiverRecord) else "unwaive"
        subject = f"canon-gate: {verb} {record.finding_id} on PR #{record.pr} by @{record.user}"
        reason = f"Reason: {record.reason}\n" if record.reason else ""
        expires = (
            f"Expires: {record.expires_at.isoformat()}\n"
            if isinstance(record, WaiverRecord) and record.expires_at
            else ""
        )
        return f"{subject}\n\n{reason}{expires}Head: {record.head_sha}\n"
    outcome = f"{record.substantive} substantive" if record.report.evaluated else "not evaluated"
    if record.report.out_of_scope:
        outcome = "not in scope"
    if record.advisory:
        outcome += " (advisory)"
    what = f"{record.pr} merge group" if record.group else str(record.pr)
    verdict = f"{record.head_sha[:7]} {record.conclusion}, {outcome}"
    subject = f"{AUDIT_SUBJECT}{what} @ {verdict}"
    lines = [f"Head: {record.head_sha}", f"Base: {record.base_sha or 'unknown'}"]
    if record.check_run_id is not None:
        lines.append(f"Check run: {record.check_run_id}")
    if record.workflow_run_id is not None:
        lines.append(f"Workflow run: {record.workflow_run_id}")
    if record.waived:
        lines.append(f"Waived: {', '.join(record.waived)}")
    if record.report.error:
        lines.append(f"Not evaluated: {record.report.error}")
    return subject + "\n\n" + "\n".join(lines) + "\n"


_RECORD: TypeAdapter[Record] = TypeAdapter(Annotated[Record, Field(discriminator="kind")])


def parse_record(text: str) -> Record:
    """Read one ledger file back; raise ValueError when it is no kind of record."""
    return _RECORD.validate_json(text)


README = f"""\
# canon-gate ledger

This branch is written by the canon-gate GitHub App. It is the record of every verdict and every
waiver of the `canon-gate` merge gate in this repository: one commit per event, never rewritten.
It is an orphan branch that holds only these files (no code and no workflows), so nothing runs
when it changes. Do not merge it, and do not edit it by hand.

## Layout

- `prs/<number>/audits/<UTC timestamp>-<head sha7>-<check run id>.json`: one concluded audit.
  `kind` is `audit`; it holds the PR, head and base SHA, the check run and workflow run ids, the
  `conclusion` the check run got, the count of unwaived `substantive` and `cosmetic` findings, the
  finding ids `waived` at the time, and the validated findings `report` the audit session wrote.
  A run dispatched by hand has `run<workflow run id>` or `manual` instead of a check run id.
- `prs/<number>/groups/<UTC timestamp>-<head sha7>-<check run id>.json`: one concluded audit of
  a merge queue's group that adds the pull request, as an audit record with the group's head ref
  in `group`. The pull request's waivers applied to it; it never changes them.
- `prs/<number>/waivers/<UTC timestamp>-<finding id>.json`: one waiver. `kind` is `waiver`; it
  holds the finding id (a fingerprint of the finding's stable parts), the `reason`, the `user` who
  waived it, when (`recorded_at`), the head SHA it was waived at, a copy of the finding, and the
  verdict after the waiver, and `expires_at` when `waivers.expire_days` set one. A waiver follows
  its finding across pushes while the finding persists on the same pull request, and never
  carries to another one.
- `prs/<number>/waivers/<UTC timestamp>-<finding id>-unwaive.json`: one unwaiver. `kind` is
  `unwaive`; it ends the waiver of that finding recorded before it, and says who and when.

Timestamps are UTC (`YYYYMMDDTHHMMSSZ` in names, ISO 8601 inside). Every file carries
`format: {LEDGER_FORMAT}`. Commit subjects say what happened, for example
`canon-gate: PR #12 @ abc1234 failure, 2 substantive` or
`canon-gate: waive cg-0123abcd45 on PR #12 by @alice`.

Turn the ledger off with `ledger: false` in `.github/canon-gate.yml`; waivers are then unavailable.
"""
