"""Which commits a delivery names, for the sweep that times out audits nobody reported back on.

GitHub has no endpoint that lists a repository's active check runs, so the sweep finds candidates
in the App's own delivery log: every audit began with a delivery that names its head (a PR event,
a re-run) or its check run (the workflow run). Pure: the handler fetched the payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from app.events import Repository
from app.judge.correlate import check_run_id_of

# The events that start or finish an audit, so that name the heads an audit may be stuck on.
SWEPT_EVENTS = frozenset(
    {"pull_request", "check_suite", "check_run", "workflow_run", "issue_comment", "merge_group"}
)


@dataclass(frozen=True)
class Target:
    """Where to look for an overdue audit: a head commit, or one check run."""

    installation_id: int
    repo: Repository
    head_sha: str | None = None
    check_run_id: int | None = None
    pr: int | None = None


def worth_sweeping(event: str, delivered_at: datetime, now: datetime, limit: timedelta) -> bool:
    """Only a delivery older than the audit time limit can have started an overdue audit."""
    return event in SWEPT_EVENTS and now - delivered_at > limit


def target_of(event: str, payload: dict[str, Any]) -> Target | None:
    """The commit or check run a delivery's payload names, or None when it names none."""
    try:
        repo = Repository.model_validate(payload.get("repository"))
        installation = int((payload.get("installation") or {})["id"])
    except (ValidationError, KeyError, TypeError, ValueError):
        return None

    def at(*path: str) -> Any:
        node: Any = payload
        for name in path:
            node = node.get(name) if isinstance(node, dict) else None
        return node

    head: Any = {
        "pull_request": at("pull_request", "head", "sha"),
        "check_suite": at("check_suite", "head_sha"),
        "check_run": at("check_run", "head_sha"),
        "merge_group": at("merge_group", "head_sha"),
    }.get(event)
    if isinstance(head, str) and len(head) == 40:
        return Target(installation, repo, head_sha=head)
    if event == "workflow_run":
        check_run = check_run_id_of(str(at("workflow_run", "display_title") or ""))
        return Target(installation, repo, check_run_id=check_run) if check_run else None
    number = at("issue", "number")
    if event == "issue_comment" and isinstance(number, int) and at("issue", "pull_request"):
        return Target(installation, repo, pr=number)
    return None
