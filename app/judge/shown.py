"""A finding as the check run shows it: its lifecycle state, its waiver, and what follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from action.report import Finding
from app.judge.lifecycle import FindingState
from app.ledger.waivers import Waiver

Level = Literal["notice", "warning", "failure"]


@dataclass(frozen=True)
class Shown:
    """A finding as the check run shows it: its lifecycle state and the waiver that covers it."""

    finding: Finding
    state: FindingState
    waiver: Waiver | None = None

    @property
    def blocking(self) -> bool:
        """Substantive, not refuted by the verification vote, not waived, not resolved."""
        return self.finding.blocks and self.waiver is None and self.state != FindingState.RESOLVED

    @property
    def level(self) -> Level:
        if self.waiver is not None or self.finding.refuted:
            return "notice"
        return "failure" if self.finding.substantive else "warning"
