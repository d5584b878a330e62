"""Write the ledger: every verdict and waiver as a sealed commit on `canon-gate/ledger`.

`app.ledger.records` builds each record, its path and its commit message; this writer makes one
atomic commit per event with the Git Data API, and the ref update is a compare-and-swap
(`force: false`), so concurrent audits never lose a record. `app.ledger.history` reads it back.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, NamedTuple

import stamina
from gidgethub import BadRequest, RateLimitExceeded
from gidgethub.abc import GitHubAPI

from action.errors import CanonGateError
from app.ledger.records import (
    README,
    README_PATH,
    Record,
    commit_message,
    record_path,
)
from app.ledger.seal import Seal
from app.ledger.trust import seal_record

logger = logging.getLogger(__name__)

BRANCH = "canon-gate/ledger"
ATTEMPTS = 6
_BASE_DELAY = 0.05


@dataclass(frozen=True)
class LedgerCommit:
    sha: str
    path: str
    attempts: int
    # The branch's commit this one was made on (None: it created the branch).
    parent: str | None = None


class LedgerError(CanonGateError):
    """The ledger could not be written or read; `reason` is fit for a check run summary."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LedgerWriteRefused(LedgerError):
    """GitHub refused the write (a branch rule, a missing permission, an empty repository).

    Retrying cannot help: the caller says "the record could not be written: reason" and moves on.
    """


class LedgerContended(LedgerError):
    """Every compare-and-swap attempt lost to another writer; a later event may succeed."""


class LedgerUnreadable(LedgerError):
    """The ledger branch exists but could not be read."""


# -- I/O: the writer ----------------------------------------------------------------------------


class _Head(NamedTuple):
    commit: str
    tree: str


def _is_race(exc: BadRequest) -> bool:
    """Tell a lost compare-and-swap (re-read and retry) from a refusal."""
    if exc.status_code != HTTPStatus.UNPROCESSABLE_ENTITY:
        return False
    text = f"{exc} {getattr(exc, 'response', '')}".lower()
    return "fast forward" in text or "fast-forward" in text or "already exists" in text


def _refusal(exc: BadRequest, step: str, creating: bool) -> LedgerWriteRefused:
    status = int(exc.status_code)
    said = str(exc)
    if status == HTTPStatus.CONFLICT or (creating and "empty" in said.lower()):
        why = (
            "the repository is empty, and the ledger branch can only be created once it has a "
            "first commit"
        )
    elif status == HTTPStatus.NOT_FOUND:
        why = "the App's token cannot write this repository's contents (Contents: write)"
    elif status == HTTPStatus.FORBIDDEN:
        why = "the App lacks Contents: write permission here, or a rule blocks the branch"
    elif status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
        why = "the record is larger than GitHub accepts"
    else:
        why = f"a branch rule or protection on `{BRANCH}` refused the update"
    return LedgerWriteRefused(f"{why} (GitHub answered {status} to {step}: {said})")


def _refusable(exc: BadRequest) -> bool:
    # Rate limits are transient; they propagate for the caller's retry or the delivery log.
    if isinstance(exc, RateLimitExceeded) or "retry-after" in {k.lower() for k in exc.headers}:
        return False
    return exc.status_code in {403, 404, 409, 413, 422}


async def _read_head(gh: GitHubAPI, repo: str) -> _Head | None:
    """Return the branch's commit and tree, or None when the branch does not exist yet."""
    try:
        ref: Any = await gh.getitem(f"/repos/{repo}/git/ref/heads/{BRANCH}")
    except BadRequest as exc:
        if exc.status_code == HTTPStatus.NOT_FOUND:
            return None
        raise
    sha = str(ref["object"]["sha"])
    commit: Any = await gh.getitem(f"/repos/{repo}/git/commits/{sha}")
    return _Head(sha, str(commit["tree"]["sha"]))


class _Race(CanonGateError):
    """Another writer moved the branch between our read and our compare-and-swap."""


# A record holds its whole report, which can be megabytes: a tree request carrying it inline
# would be refused, so large files go up as blobs first (GitHub allows them up to 100 MB).
INLINE_LIMIT = 64 * 1024


async def _entry(gh: GitHubAPI, repo: str, path: str, text: str) -> dict[str, str]:
    """A tree entry for one file: inline when small, else a blob uploaded on its own."""
    data = text.encode()
    entry = {"path": path, "mode": "100644", "type": "blob"}
    if len(data) <= INLINE_LIMIT:
        return {**entry, "content": text}
    try:
        blob: Any = await gh.post(
            f"/repos/{repo}/git/blobs",
            data={"content": base64.b64encode(data).decode(), "encoding": "base64"},
        )
    except BadRequest as exc:
        if _refusable(exc):
            raise _refusal(exc, "POST git/blobs", creating=False) from exc
        raise
    return {**entry, "sha": str(blob["sha"])}


async def commit_files(
    gh: GitHubAPI,
    repo: str,
    files: Mapping[str, str],
    message: str,
    *,
    attempts: int = ATTEMPTS,
) -> LedgerCommit:
    """Add files to the ledger branch in one commit, creating the orphan branch on first use.

    The ref moves only by fast-forward; when another writer moved it first, re-read and rebuild
    on top of it, up to `attempts` times, with jittered backoff so racing writers spread out.
    """
    entries = [
        await _entry(gh, repo, path, text) for path, text in {README_PATH: README, **files}.items()
    ]
    path = next(iter(files), README_PATH)
    try:
        async for retry in stamina.retry_context(
            on=_Race,
            attempts=attempts,
            timeout=None,
            wait_initial=_BASE_DELAY,
            wait_jitter=_BASE_DELAY * 2,
            wait_max=1.0,
        ):
            with retry:
                sha, parent = await _commit_once(gh, repo, entries, message, attempt=retry.num)
                logger.info(
                    "ledger.commit",
                    extra={"repo": repo, "sha": sha, "path": path, "attempt": retry.num},
                )
                return LedgerCommit(sha=sha, path=path, attempts=retry.num, parent=parent)
    except _Race:
        pass
    raise LedgerContended(
        f"another writer kept moving `{BRANCH}`; gave up after {attempts} attempts"
    )


async def _commit_once(
    gh: GitHubAPI, repo: str, entries: list[dict[str, str]], message: str, *, attempt: int
) -> tuple[str, str | None]:
    """One read-build-swap round: the new commit and its parent; `_Race` if another writer won."""
    head: _Head | None = None
    step = f"GET git/ref/heads/{BRANCH}"
    try:
        head = await _read_head(gh, repo)
        tree_body: dict[str, Any] = {"tree": entries}
        if head is not None:
            tree_body["base_tree"] = head.tree
        step = "POST git/trees"
        tree: Any = await gh.post(f"/repos/{repo}/git/trees", data=tree_body)
        step = "POST git/commits"
        parents = [head.commit] if head is not None else []
        commit: Any = await gh.post(
            f"/repos/{repo}/git/commits",
            data={"message": message, "tree": tree["sha"], "parents": parents},
        )
        sha = str(commit["sha"])
        if head is not None:
            step = f"PATCH git/refs/heads/{BRANCH}"
            await gh.patch(
                f"/repos/{repo}/git/refs/heads/{BRANCH}", data={"sha": sha, "force": False}
            )
        else:
            # An orphan commit (no parents) becomes the branch: no workflows, nothing runs.
            step = "POST git/refs"
            await gh.post(
                f"/repos/{repo}/git/refs", data={"ref": f"refs/heads/{BRANCH}", "sha": sha}
            )
    except BadRequest as exc:
        if _is_race(exc):
            logger.info("ledger.conflict", extra={"repo": repo, "attempt": attempt, "step": step})
            raise _Race(step) from exc
        if _refusable(exc):
            refused = _refusal(exc, step, creating=head is None)
            logger.warning("ledger.refused", extra={"repo": repo, "reason": refused.reason})
            raise refused from exc
        raise
    return sha, head.commit if head is not None else None


async def write_record(
    gh: GitHubAPI,
    repo: str,
    record: Record,
    seal: Seal,
    *,
    attempts: int = ATTEMPTS,
) -> LedgerCommit:
    """Commit one record to the ledger, sealed so that the App trusts it when reading it back."""
    files = {record_path(record): seal_record(record, seal)}
    return await commit_files(gh, repo, files, commit_message(record), attempts=attempts)
