"""Which waivers are in force: each follows its finding across pushes until it lapses.

Pure. A waiver lapses at the first evaluated audit after it that no longer reports its finding,
when it expires, or when it is unwaived; the newest event of a finding id wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from action.report import DEFAULT_GATE, Report


@dataclass(frozen=True)
class Waiver:
    """A recorded decision to let one finding on one PR pass, with who, when and why."""

    finding_id: str
    reason: str
    user: str
    at: datetime
    pr: int
    head_sha: str
    # Set from `waivers.expire_days` when it was granted: the terms are fixed then, and sealed.
    expires_at: datetime | None = None
    # The gate whose audit reported the finding: only that gate's audits can drop it.
    gate: str = DEFAULT_GATE

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class Unwaiver:
    """A recorded `/canon-gate unwaive`: the waiver of `finding_id` before it no longer holds."""

    finding_id: str
    user: str
    at: datetime
    pr: int


class Audited(NamedTuple):
    """What deciding waivers needs of one recorded audit."""

    at: datetime
    report: Report
    # The ids its verdict waived: a waiver of each was in force when it concluded.
    waived: frozenset[str] = frozenset()


def _follows(
    waiver: Waiver, newest_first: Sequence[Audited], covered_from: datetime | None
) -> bool | None:
    """Tell whether a waiver still follows its finding: True, False, or None (older audits needed).

    It lapses at the first evaluated audit after it that no longer reports the finding. The
    newest audits are walked first and the walk stops early at an audit whose verdict waived
    the finding: that verdict found a waiver of it in force, so no evaluated audit between the
    waiver and it dropped the finding. An audit that reports the finding without waiving it
    (one that concluded before it could read the waiver) proves nothing; the walk goes on.
    """
    fid = waiver.finding_id
    for audited in newest_first:
        if audited.at <= waiver.at:
            break
        if not audited.report.evaluated or audited.report.run.gate != waiver.gate:
            # Another gate's audit never reports this finding, so it proves nothing about it.
            continue
        if all(f.id != fid for f in audited.report.findings):
            return False
        if fid in audited.waived:
            return True
    # Every audit after the waiver was walked, unless older ones than those given were recorded.
    return True if covered_from is None or covered_from <= waiver.at else None


def settle_waivers(
    waivers: Sequence[Waiver],
    audits: Sequence[Audited],
    *,
    now: datetime,
    unwaivers: Sequence[Unwaiver] = (),
    covered_from: datetime | None = None,
) -> tuple[dict[str, Waiver], set[str]]:
    """Return the waivers in force, and the ids that need older audits than `audits` to decide.

    `audits` hold every audit of the PR recorded at or after `covered_from` (None: all of them);
    `app.ledger.history` reads the newest first, and reads on while an id is undecided. The
    newest event of an id wins: a later waiver replaces an earlier one, an unwaiver ends it. An
    expired waiver is not in force.
    """
    events: list[Waiver | Unwaiver] = [*waivers, *unwaivers]
    newest: dict[str, Waiver | Unwaiver] = {}
    for event in sorted(events, key=lambda e: e.at):
        newest[event.finding_id] = event
    ordered = sorted(audits, key=lambda a: a.at, reverse=True)
    in_force: dict[str, Waiver] = {}
    undecided: set[str] = set()
    for finding_id, event in newest.items():
        if not isinstance(event, Waiver) or event.expired(now):
            continue
        follows = _follows(event, ordered, covered_from)
        if follows:
            in_force[finding_id] = event
        elif follows is None:
            undecided.add(finding_id)
    return in_force, undecided


def waivers_in_force(
    waivers: Sequence[Waiver],
    audits: Sequence[Audited],
    *,
    now: datetime | None = None,
    unwaivers: Sequence[Unwaiver] = (),
) -> dict[str, Waiver]:
    """Return the waivers of one PR still in force at `now`, keyed by finding id (its fingerprint).

    A waiver follows its finding across pushes while the finding persists: it lapses at the first
    evaluated audit after it that no longer reports the finding, ends at a later unwaiver of its
    id, and expires at its `expires_at`. The newest waiver of an id wins. `audits` are all of the
    PR's audits recorded after its waivers.
    """
    in_force, _ = settle_waivers(waivers, audits, now=now or datetime.now(UTC), unwaivers=unwaivers)
    return in_force
