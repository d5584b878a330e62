"""Where an audit's full report lives: the links every summary and cut text points to."""

from __future__ import annotations

from dataclasses import dataclass

from action.markdown import ELLIPSIS
from action.report import ARTIFACT_NAME


@dataclass(frozen=True)
class Links:
    """Where the full report lives; summaries point there. Either may be unknown."""

    workflow_run_url: str | None = None
    artifact_url: str | None = None

    def pointer(self) -> str:
        """Say where the full report is, for text that had to be cut."""
        if self.artifact_url:
            where = f"the artifact: {self.artifact_url}"
        elif self.workflow_run_url:
            where = f"the `{ARTIFACT_NAME}` artifact of the workflow run: {self.workflow_run_url}"
        else:
            where = f"the `{ARTIFACT_NAME}` artifact of the audit workflow run"
        return f"{ELLIPSIS} (cut; full report in {where})"

    def markdown(self) -> str:
        parts = []
        if self.workflow_run_url:
            parts.append(f"[Workflow run]({self.workflow_run_url})")
        if self.artifact_url:
            parts.append(f"[Report artifact]({self.artifact_url})")
        return " · ".join(parts)
