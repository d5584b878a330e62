"""Typed views of the webhook payloads the App acts on, validated where they enter.

Lenient about fields we do not read (GitHub's own examples omit some that its schema requires),
strict about the ones we use.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_NAME_PART = re.compile(r"[A-Za-z0-9._-]+")


def _owner_and_name(value: str) -> str:
    """Accept `owner/name` only: both parts go into API paths, so no empty part and no dots."""
    owner, slash, name = value.partition("/")
    parts_ok = all(_NAME_PART.fullmatch(part) and part not in (".", "..") for part in (owner, name))
    if not slash or not parts_ok:
        raise ValueError("a repository's full_name is owner/name")
    return value


# What the App puts into API paths is checked where it enters, so a payload that can never be
# acted on is refused (422) rather than crashing, or reaching GitHub, later.
FullName = Annotated[str, AfterValidator(_owner_and_name)]
# A commit id: SHA-1, or SHA-256 where the server uses it.
Sha = Annotated[str, Field(pattern=r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Installation(_Payload):
    id: int


class Account(_Payload):
    login: str
    type: str = "User"


class Repository(_Payload):
    id: int
    full_name: FullName
    default_branch: str = "main"

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]


class RepoRef(_Payload):
    id: int
    full_name: FullName


class _Named(_Payload):
    full_name: FullName


class Envelope(_Payload):
    """What the edge reads of every delivery before routing it; GitHub always sends these shapes.

    `action` routes the delivery, so anything but a string (a list cannot even be looked up)
    makes the delivery unusable, whatever the event.
    """

    action: str | None = None
    installation: Installation | None = None
    repository: _Named | None = None


class Ref(_Payload):
    ref: str
    sha: Sha
    repo: RepoRef | None = None


class PullRequest(_Payload):
    number: int
    draft: bool = False
    state: str = "open"
    head: Ref
    base: Ref
    user: Account | None = None


class _RepoEvent(_Payload):
    action: str | None = None
    repository: Repository
    installation: Installation
    sender: Account | None = None


class BaseChange(_Payload):
    """`changes.base` of `pull_request.edited`: the PR was retargeted to another branch."""

    ref: dict[str, str] | None = None
    sha: dict[str, str] | None = None


class Changes(_Payload):
    base: BaseChange | None = None


class PullRequestEvent(_RepoEvent):
    pull_request: PullRequest
    before: Sha | None = None
    changes: Changes | None = None


class PullRef(_Payload):
    number: int


class App(_Payload):
    id: int


class CheckRunOutput(_Payload):
    title: str | None = None
    annotations_count: int = 0


class CheckRun(_Payload):
    id: int
    name: str
    head_sha: Sha
    status: str
    conclusion: str | None = None
    external_id: str | None = None
    details_url: str | None = None
    started_at: datetime | None = None
    app: App | None = None
    pull_requests: list[PullRef] = Field(default_factory=list)
    output: CheckRunOutput = Field(default_factory=CheckRunOutput)
    html_url: str | None = None


class RequestedAction(_Payload):
    identifier: str


class CheckRunEvent(_RepoEvent):
    check_run: CheckRun
    requested_action: RequestedAction | None = None


class CheckSuite(_Payload):
    id: int
    head_sha: Sha
    head_branch: str | None = None
    pull_requests: list[PullRef] = Field(default_factory=list)
    # Changes with every "Re-run all checks": with the id, it names one request.
    updated_at: str | None = None


class CheckSuiteEvent(_RepoEvent):
    check_suite: CheckSuite


class WorkflowRun(_Payload):
    id: int
    name: str | None = None
    path: str = ""
    display_title: str = ""
    head_sha: Sha
    head_branch: str | None = None
    head_repository: RepoRef | None = None
    event: str = ""
    status: str
    conclusion: str | None = None
    html_url: str = ""
    run_attempt: int = 1


class WorkflowRunEvent(_RepoEvent):
    workflow_run: WorkflowRun


class Comment(_Payload):
    id: int
    body: str = ""
    user: Account
    html_url: str | None = None
    created_at: datetime | None = None


class IssueLink(_Payload):
    url: str | None = None


class Issue(_Payload):
    number: int
    pull_request: IssueLink | None = None


class IssueCommentEvent(_RepoEvent):
    issue: Issue
    comment: Comment


class InstallationEvent(_Payload):
    action: str
    installation: Installation


class MergeGroup(_Payload):
    """A merge queue's group: its own commit (`head_sha`) on a temporary branch, over its base."""

    head_sha: Sha
    head_ref: str
    base_sha: Sha
    base_ref: str = ""


class MergeGroupEvent(_RepoEvent):
    merge_group: MergeGroup
    # `destroyed` only: merged, dequeued or invalidated.
    reason: str | None = None


class PushEvent(_Payload):
    """A push: the ref it moved, from `before` to `after` (all zeros when created or deleted)."""

    ref: str
    before: str
    after: str
    deleted: bool = False
    repository: Repository
    installation: Installation


class InstallationGrants(_Payload):
    """What an installation lets the App do: `GET /app/installations/{id}`, or an `installation`
    event's `installation` (most deliveries carry only its id)."""

    id: int
    permissions: dict[str, str] = Field(default_factory=dict)
    events: list[str] = Field(default_factory=list)
    html_url: str | None = None
