"""The fake GitHub's state: apps, installations, tokens, repositories and what lives in them."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .gitstore import ObjectStore

if TYPE_CHECKING:
    from .server import FakeGitHub

# What a freshly registered canon-gate App may do (the manifest's default_permissions).
DEFAULT_APP_PERMISSIONS: dict[str, str] = {
    "checks": "write",
    "actions": "write",
    "contents": "write",
    "pull_requests": "write",
    "issues": "write",
    "metadata": "read",
    "merge_queues": "read",
    "workflows": "write",
}
LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}
AUTHOR = {"name": "Fake", "email": "fake@example.com", "date": "2026-01-01T00:00:00Z"}


class Clock:
    """The fake's clock: wall time plus an offset that tests advance."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def iso(self, at: float | None = None) -> str:
        moment = datetime.fromtimestamp(self.now() if at is None else at, UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


ids = itertools.count(1_000_001)


def user_json(login: str, kind: str = "User") -> dict[str, Any]:
    uid = sum(ord(c) * 31**i for i, c in enumerate(login)) % 90_000_000 + 1000
    return {
        "login": login,
        "id": uid,
        "node_id": f"U_{uid}",
        "type": kind,
        "site_admin": False,
        "html_url": f"https://github.com/{login}",
        "url": f"https://api.github.com/users/{login}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}",
    }


@dataclass
class App:
    id: int
    slug: str
    name: str
    public_key_pem: str
    owner: str = "canon-gate-org"
    permissions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_APP_PERMISSIONS))
    events: list[str] = field(default_factory=list)
    client_id: str = ""

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "slug": self.slug,
            "node_id": f"A_{self.id}",
            "name": self.name,
            "client_id": self.client_id or f"Iv1.{self.id:016x}",
            "owner": user_json(self.owner, "Organization"),
            "description": "",
            "external_url": "https://example.com",
            "html_url": f"https://github.com/apps/{self.slug}",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "permissions": dict(self.permissions),
            "events": list(self.events),
        }


@dataclass
class Installation:
    id: int
    account: str
    app_id: int
    suspended: bool = False


@dataclass
class Token:
    token: str
    installation_id: int
    app_id: int
    permissions: dict[str, str]
    repository_ids: list[int] | None  # None: every repository of the installation
    expires_at: float


@dataclass
class Pull:
    number: int
    head_ref: str
    base_ref: str
    head_sha: str
    user: str
    draft: bool = False
    fork: bool = False
    state: str = "open"
    title: str = "A change"
    id: int = field(default_factory=lambda: next(ids))


@dataclass(frozen=True)
class MergeGroup:
    """A merge queue's group, as `merge_group` webhooks describe it."""

    head_ref: str
    head_sha: str
    base_sha: str
    base_ref: str


@dataclass
class CheckRun:
    id: int
    app_id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    external_id: str
    details_url: str | None
    started_at: str | None
    completed_at: str | None
    output: dict[str, Any]
    actions: list[dict[str, str]]
    annotations: list[dict[str, Any]]
    check_suite_id: int


@dataclass
class Artifact:
    id: int
    name: str
    data: bytes
    run_id: int
    created_at: float
    expired: bool = False
    # What the listing says, when a test wants it to disagree with the download.
    listed_size: int | None = None


@dataclass
class WorkflowRun:
    id: int
    name: str
    display_title: str
    path: str
    head_sha: str
    head_branch: str
    event: str
    inputs: dict[str, Any]
    status: str = "queued"
    conclusion: str | None = None
    run_number: int = 1
    created_at: str = ""
    artifacts: list[Artifact] = field(default_factory=list)
    # Its jobs by name, with their conclusions (set when the run completes).
    jobs: dict[str, str] = field(default_factory=dict)
    # The repository the run belongs to (set by the fake when it creates the run).
    repo: Repo | None = field(default=None, repr=False, compare=False)


@dataclass
class Comment:
    id: int
    issue_number: int
    body: str
    user: str
    app_id: int | None
    created_at: str
    updated_at: str
    reactions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Review:
    """A pull-request review; a PENDING one (no `event`) is seen by its author only."""

    id: int
    pull_number: int
    user: str
    app_id: int | None
    state: str
    body: str
    commit_id: str
    submitted_at: str | None


@dataclass
class ReviewComment:
    """A comment on a pull request's diff, on `line` (from `start_line`) of `side`."""

    id: int
    review_id: int
    pull_number: int
    path: str
    line: int
    side: str
    start_line: int | None
    start_side: str | None
    commit_id: str
    diff_hunk: str
    body: str
    user: str
    app_id: int | None
    created_at: str
    updated_at: str


class Repo:
    """One repository: its object store, refs, pulls, checks, runs and comments."""

    def __init__(
        self,
        fake: FakeGitHub,
        full_name: str,
        repo_id: int,
        installation_id: int,
        default_branch: str,
    ) -> None:
        self.fake = fake
        self.full_name = full_name
        self.owner, self.name = full_name.split("/")
        self.id = repo_id
        self.installation_id = installation_id
        self.default_branch = default_branch
        self.private = True
        self.store = ObjectStore()
        self.refs: dict[str, str] = {}  # "refs/heads/main" -> commit sha
        self.protected: set[str] = set()
        self.pulls: dict[int, Pull] = {}
        self.issues: set[int] = set()
        self.check_runs: dict[int, CheckRun] = {}
        self.runs: dict[int, WorkflowRun] = {}
        self.comments: dict[int, Comment] = {}
        self.reviews: dict[int, Review] = {}
        self.review_comments: dict[int, ReviewComment] = {}
        self.permissions: dict[str, str] = {}  # login -> admin|maintain|write|triage|read|none
        self.workflow_ids: dict[str, int] = {}

    # -- setup helpers for tests ---------------------------------------------------------------

    def head(self, branch: str) -> str | None:
        return self.refs.get(f"refs/heads/{branch}")

    def commit(self, branch: str, files: dict[str, str | None], message: str = "change") -> str:
        """Commit files (None deletes) on top of the branch, creating it from the default branch."""
        parent = self.head(branch) or self.head(self.default_branch)
        current = {} if parent is None else self.store.flatten(self.store.commits[parent].tree)
        for path, text in files.items():
            if text is None:
                current.pop(path, None)
            else:
                current[path] = ("100644", self.store.put_blob(text.encode()))
        tree = self.store.build(current)
        sha = self.store.put_commit(tree, [] if parent is None else [parent], message, AUTHOR)
        self.refs[f"refs/heads/{branch}"] = sha
        return sha

    def open_pull(
        self,
        number: int,
        head_files: dict[str, str | None],
        *,
        draft: bool = False,
        user: str = "alice",
        fork: bool = False,
        head_ref: str | None = None,
        title: str = "A change",
        base: str | None = None,
    ) -> Pull:
        """Open a pull request whose head branch adds head_files, into `base` (the default)."""
        ref = head_ref or f"feature-{number}"
        sha = self.commit(ref, head_files, f"PR #{number}")
        pull = Pull(number, ref, base or self.default_branch, sha, user, draft, fork, title=title)
        self.pulls[number] = pull
        self.issues.add(number)
        return pull

    def push(self, pull: Pull, files: dict[str, str | None], message: str = "push") -> str:
        pull.head_sha = self.commit(pull.head_ref, files, message)
        return pull.head_sha

    def enqueue(self, pull: Pull, *, base_sha: str | None = None) -> MergeGroup:
        """Make the commit a merge queue makes for a pull request: the base (the base branch's
        tip, or an earlier group's head) plus the pull request's own changes, on the queue's
        temporary branch `gh-readonly-queue/<base branch>/pr-<number>-<base sha>`."""
        base_sha = base_sha or self.head(pull.base_ref)
        assert base_sha is not None, "the base branch has no commit"
        merge_base = self.store.merge_base(base_sha, pull.head_sha)
        before = self.store.flatten_commit(merge_base) if merge_base else {}
        after = self.store.flatten_commit(pull.head_sha)
        files = dict(self.store.flatten_commit(base_sha))
        for path in before.keys() | after.keys():
            if before.get(path) == after.get(path):
                continue
            if path in after:
                files[path] = after[path]
            else:
                files.pop(path, None)
        tree = self.store.build(files)
        message = f"Merge pull request #{pull.number} from {pull.head_ref}"
        sha = self.store.put_commit(tree, [base_sha, pull.head_sha], message, AUTHOR)
        ref = f"refs/heads/gh-readonly-queue/{pull.base_ref}/pr-{pull.number}-{base_sha}"
        self.refs[ref] = sha
        return MergeGroup(ref, sha, base_sha, f"refs/heads/{pull.base_ref}")

    def dequeue(self, group: MergeGroup) -> None:
        """The queue deletes a group's branch when it destroys the group."""
        self.refs.pop(group.head_ref, None)

    def open_issue(self, number: int) -> None:
        self.issues.add(number)

    def set_permission(self, user: str, permission: str) -> None:
        self.permissions[user] = permission

    def install_workflow(self, text: str, name: str = "canon-gate.yml") -> str:
        """Commit a workflow file to the default branch; return the new head sha."""
        return self.commit(self.default_branch, {f".github/workflows/{name}": text}, "workflow")

    def protect(self, branch: str) -> None:
        self.protected.add(branch)

    def resolve(self, ref: str) -> str | None:
        """Resolve a sha, branch, tag or full ref name to a commit sha."""
        if ref in self.store.commits:
            return ref
        for candidate in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}"):
            if candidate in self.refs:
                return self.refs[candidate]
        return None

    # -- JSON views ------------------------------------------------------------------------------

    def json(self) -> dict[str, Any]:
        base = self.fake.public_api_url
        owner = user_json(self.owner, "Organization")
        return {
            "id": self.id,
            "node_id": f"R_{self.id}",
            "name": self.name,
            "full_name": self.full_name,
            "private": self.private,
            "owner": owner,
            "html_url": f"https://github.com/{self.full_name}",
            "url": f"{base}/repos/{self.full_name}",
            "fork": False,
            "default_branch": self.default_branch,
            "visibility": "private" if self.private else "public",
            "archived": False,
            "disabled": False,
        }
