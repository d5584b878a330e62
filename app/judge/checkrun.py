"""The value a concluded check run is: conclusion, output and buttons, and its PATCH bodies.

Limits from https://docs.github.com/en/rest/checks/runs#update-a-check-run: at most 50
annotations per request (they append), 3 buttons, 65,535 characters of summary and of text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, TypedDict

from app.judge import render
from app.judge.annotations import Annotation

Conclusion = Literal["success", "failure", "action_required", "cancelled", "timed_out", "neutral"]
CHECK_NAME = "canon-gate"
STRUCTURE_CHECK_NAME = "canon-gate/structure"
# The statuses of a check run that has not concluded yet.
ACTIVE = frozenset({"queued", "in_progress", "waiting", "requested", "pending"})
ANNOTATIONS_PER_REQUEST = 50
MAX_ACTIONS = 3


class Action(TypedDict):
    """A check run button: label <= 20, description <= 40, identifier <= 20 characters."""

    label: str
    description: str
    identifier: str


# The Re-run button's identifier, which `check_run.requested_action` carries back.
RERUN = "rerun"
RERUN_BUTTON = Action(
    label="Re-run", description="Run the canon-gate audit again", identifier=RERUN
)


@dataclass(frozen=True)
class CheckRunResult:
    """A concluded check run: conclusion, output and buttons, already within GitHub's limits."""

    conclusion: Conclusion
    title: str
    summary: str
    text: str | None = None
    annotations: tuple[Annotation, ...] = ()
    actions: tuple[Action, ...] = (RERUN_BUTTON,)
    # Ids of unwaived substantive findings: what blocks the merge (for the ledger's record).
    blocking: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Guard the limits here so no caller can build a payload GitHub would refuse.
        if len(self.title) > render.MAX_TITLE or not self.title:
            raise ValueError("check run title must be 1-255 characters")
        if len(self.summary) > render.MAX_SUMMARY:
            raise ValueError("check run summary exceeds 65,535 characters")
        if self.text is not None and len(self.text) > render.MAX_TEXT:
            raise ValueError("check run text exceeds 65,535 characters")
        if len(self.actions) > MAX_ACTIONS or RERUN_BUTTON not in self.actions:
            raise ValueError("a check run has at most 3 buttons, one of them Re-run")

    def with_note(self, note: str) -> CheckRunResult:
        """The same result with a note under its headline: a fact learnt while writing it."""
        return replace(self, summary=render.insert_note(self.summary, note))

    def _output(self, annotations: Sequence[Annotation]) -> dict[str, object]:
        output: dict[str, object] = {"title": self.title, "summary": self.summary}
        if self.text is not None:
            output["text"] = self.text
        if annotations:
            output["annotations"] = list(annotations)
        return output

    def payloads(self, *, already: int = 0) -> list[dict[str, object]]:
        """Return the PATCH bodies: annotations by 50, the conclusion and buttons with the last.

        Concluding last means a failed batch leaves the run open, and a redelivery resumes after
        the `already` annotations GitHub holds (they append, so none may be sent twice). Every
        body repeats title and summary, because GitHub requires both whenever `output` is sent.
        The first body can also be merged into a create request (with `name` and `head_sha`).
        """
        rest = self.annotations[already:]
        batches = [
            rest[i : i + ANNOTATIONS_PER_REQUEST]
            for i in range(0, len(rest), ANNOTATIONS_PER_REQUEST)
        ] or [()]
        bodies: list[dict[str, object]] = [{"output": self._output(b)} for b in batches]
        bodies[-1]["conclusion"] = self.conclusion
        bodies[-1]["actions"] = [dict(a) for a in self.actions]
        return bodies
