"""Finding lifecycle across pushes: new, persisting, resolved or waived, from two reports.

Pure: the previous report and the waivers come from the ledger, read by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from action.report import Finding, Report
from app.ledger.waivers import Waiver


class FindingState(StrEnum):
    NEW = "new"
    PERSISTING = "persisting"
    RESOLVED = "resolved"
    WAIVED = "waived"


@dataclass(frozen=True)
class Lifecycle:
    new: list[Finding] = field(default_factory=list)
    persisting: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    waived: list[Finding] = field(default_factory=list)

    def state_of(self, finding_id: str) -> FindingState | None:
        for state, group in self.groups():
            if any(f.id == finding_id for f in group):
                return state
        return None

    def groups(self) -> Iterable[tuple[FindingState, list[Finding]]]:
        yield FindingState.NEW, self.new
        yield FindingState.PERSISTING, self.persisting
        yield FindingState.WAIVED, self.waived
        yield FindingState.RESOLVED, self.resolved


def compare(previous: Report | None, current: Report, waivers: Mapping[str, Waiver]) -> Lifecycle:
    """Sort the current findings into lifecycle groups against the previous audit of the PR.

    A waived finding is `waived` whether or not it is new; a finding of the previous audit that
    the current one no longer reports is `resolved`. Without a previous evaluated report, every
    unwaived finding is new.
    """
    before = {f.id for f in previous.findings} if previous and previous.evaluated else set()
    now = {f.id for f in current.findings}
    lifecycle = Lifecycle(
        resolved=[f for f in (previous.findings if previous else []) if f.id not in now]
        if current.evaluated
        else []
    )
    for finding in current.findings:
        if finding.id in waivers:
            lifecycle.waived.append(finding)
        elif finding.id in before:
            lifecycle.persisting.append(finding)
        else:
            lifecycle.new.append(finding)
    return lifecycle
