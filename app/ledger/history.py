"""Read a PR's history back from the ledger branch: its trusted audits and waivers.

The App keeps nothing of it in memory; every verdict and waiver command reads it from GitHub.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from gidgethub import BadRequest, RateLimitExceeded
from gidgethub.abc import GitHubAPI

from app.ledger.records import (
    AUDIT_SUBJECT,
    STAMP,
    AuditRecord,
    History,
    Record,
    UnwaiverRecord,
    WaiverRecord,
)
from app.ledger.seal import Seal
from app.ledger.store import BRANCH, LedgerUnreadable
from app.ledger.trust import Rejected, read_record

logger = logging.getLogger(__name__)

# Blob reads in flight at once: well under GitHub's 100 concurrent requests (secondary limits).
_READ_CONCURRENCY = 8


async def _get(gh: GitHubAPI, url: str) -> Any:
    try:
        return await gh.getitem(url)
    except BadRequest as exc:
        if isinstance(exc, RateLimitExceeded) or exc.status_code not in {403, 404, 409}:
            raise
        raise LedgerUnreadable(f"GitHub answered {int(exc.status_code)} to GET {url}") from exc


# The audits the lifecycle needs: the newest (what a waiver's verdict is recomputed from, and
# where a redelivered completion finds its own record) and the one before it (what a new verdict
# is compared with), with one to spare.
LIFECYCLE_AUDITS = 3
# Older audits read per round while a waiver's lapse is still undecided.
_PAGE = 8


def _stamp_of(path: str) -> datetime | None:
    """The time a record's name begins with (`records.record_path`); None for any other name."""
    try:
        return datetime.strptime(path.rsplit("/", 1)[-1][:16], STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


async def read_history(
    gh: GitHubAPI,
    repo: str,
    pr: int,
    seal: Seal,
    *,
    audits_limit: int | None = LIFECYCLE_AUDITS,
) -> History:
    """Read a PR's newest audits (newest first) and all its waivers and unwaivers from the branch.

    Only records the App sealed count (`app.ledger.trust`); the others are named in
    `History.rejected`. A missing branch is an empty history. Reads: the ref, the PR's folder
    and its two subtrees, one blob per waiver, and the audits from the newest: at least
    `audits_limit` trusted ones (None: all), and on while a waiver's lapse is undecided.

    Why the bound is safe for the waivers in force: a waiver lapses at the first evaluated audit
    after it that no longer reports its finding, so dropping older audits could resurrect a
    lapsed waiver. `History.settle` walks the audits newest first and settles a waiver at the
    first evaluated audit that dropped its finding (lapsed) or whose verdict waived it (in
    force: that verdict found it in force, so nothing between dropped it). Only an audit that
    reported the finding without waiving it leaves the waiver undecided, and then older audits
    are read, down to the waiver's own time if need be. Record names begin with their time, and
    `app.ledger.trust` rejects a record that is not at its own name, so the names say which
    audits are newer than a waiver before any blob is read.
    """
    try:
        ref: Any = await gh.getitem(f"/repos/{repo}/git/ref/heads/{BRANCH}")
    except BadRequest as exc:
        # No branch yet (or an empty repository): nothing was ever recorded.
        if exc.status_code in {HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT}:
            return History([], [])
        if exc.status_code == HTTPStatus.FORBIDDEN and not isinstance(exc, RateLimitExceeded):
            raise LedgerUnreadable(f"GitHub answered 403 to GET git/ref/heads/{BRANCH}") from exc
        raise
    commit_sha = str(ref["object"]["sha"])
    prefix = f"prs/{pr}/"
    audit_blobs: list[tuple[str, str]] = []
    waiver_blobs: list[tuple[str, str]] = []
    rejected: list[tuple[str, str]] = []
    for path, sha in await _files_of(gh, repo, pr, commit_sha):
        if not path.endswith(".json"):
            continue
        if _stamp_of(path) is None:
            rejected.append((path, "not named as the App names its records"))
        elif path.startswith(prefix + "audits/"):
            audit_blobs.append((path, sha))
        else:
            waiver_blobs.append((path, sha))
    # Names begin with the UTC timestamp, so the newest audits can be picked before any fetch.
    audit_blobs.sort(reverse=True)
    gate = asyncio.Semaphore(_READ_CONCURRENCY)
    now = datetime.now(UTC)

    async def read(blobs: list[tuple[str, str]]) -> list[Record | Rejected]:
        async def one(path: str, sha: str) -> Record | Rejected:
            async with gate:
                text = await _read_blob(gh, repo, sha)
            return read_record(path, text, seal, repo=repo, pr=pr, now=now)

        return list(await asyncio.gather(*(one(p, s) for p, s in blobs)))

    records = await read(waiver_blobs)
    # No audit read yet: none is covered, unless there is none at all.
    nothing = datetime.max.replace(tzinfo=UTC) if audit_blobs else None
    history = _history(records, rejected, now, covered_from=nothing, tip=commit_sha)
    taken = 0
    want = len(audit_blobs) if audits_limit is None else audits_limit
    while taken < len(audit_blobs):
        _, undecided = history.settle(now)
        if len(history.audits) >= want and not undecided:
            break
        # First the audits the lifecycle wants, then pages of older ones while undecided.
        short = want - len(history.audits)
        size = short if short > 0 else _PAGE
        page = _through_second(audit_blobs, taken, size)
        records += await read(page)
        taken += len(page)
        covered = _stamp_of(audit_blobs[taken - 1][0]) if taken < len(audit_blobs) else None
        history = _history(records, rejected, now, covered_from=covered, tip=commit_sha)
    if history.rejected:
        logger.warning(
            "ledger.rejected", extra={"repo": repo, "pr": pr, "count": len(history.rejected)}
        )
    return history


def _through_second(blobs: list[tuple[str, str]], start: int, size: int) -> list[tuple[str, str]]:
    """Take `size` names from `start`, and the rest of the last one's second (names sort by it)."""
    end = min(start + size, len(blobs))
    last = _stamp_of(blobs[end - 1][0])
    while end < len(blobs) and _stamp_of(blobs[end][0]) == last:
        end += 1
    return blobs[start:end]


def _history(
    records: list[Record | Rejected],
    rejected: list[tuple[str, str]],
    now: datetime,
    *,
    covered_from: datetime | None,
    tip: str,
) -> History:
    """Sort what was read into a history: trusted records by kind, the rest named."""
    refused = (*rejected, *((r.path, r.reason) for r in records if isinstance(r, Rejected)))
    audits = sorted(
        (r for r in records if isinstance(r, AuditRecord)),
        key=lambda r: r.recorded_at,
        reverse=True,
    )
    waivers = sorted(
        (r for r in records if isinstance(r, WaiverRecord)), key=lambda r: r.recorded_at
    )
    unwaivers = tuple(
        sorted((r for r in records if isinstance(r, UnwaiverRecord)), key=lambda r: r.recorded_at)
    )
    return History(audits, waivers, refused, unwaivers, now, covered_from, tip)


async def _files_of(gh: GitHubAPI, repo: str, pr: int, commit_sha: str) -> list[tuple[str, str]]:
    """List the PR's record files (path, blob sha) at a ledger commit, and nobody else's.

    The ledger's recursive tree grows with every PR ever audited (about 280 KiB of JSON at 1,000
    audits, see bench/ledger.py) and GitHub truncates it past 100,000 entries, so only this PR's
    folder is listed: its two subtrees, found through the Contents API.
    """
    folder = f"prs/{pr}"
    try:
        listing: Any = await gh.getitem(f"/repos/{repo}/contents/{folder}?ref={commit_sha}")
    except BadRequest as exc:
        if exc.status_code == HTTPStatus.NOT_FOUND:
            return []  # nothing recorded for this PR yet
        if isinstance(exc, RateLimitExceeded) or exc.status_code not in {403, 409}:
            raise
        raise LedgerUnreadable(f"GitHub answered {int(exc.status_code)} to GET {folder}") from exc
    files: list[tuple[str, str]] = []
    for entry in listing if isinstance(listing, list) else []:
        if entry.get("type") != "dir" or entry.get("name") not in ("audits", "waivers"):
            continue
        tree = await _get(gh, f"/repos/{repo}/git/trees/{entry['sha']}")
        if tree.get("truncated"):
            logger.warning("ledger.tree_truncated", extra={"repo": repo, "pr": pr})
        files += [
            (f"{folder}/{entry['name']}/{item['path']}", str(item["sha"]))
            for item in tree["tree"]
            if item["type"] == "blob"
        ]
    return files


async def _read_blob(gh: GitHubAPI, repo: str, sha: str) -> str:
    blob = await _get(gh, f"/repos/{repo}/git/blobs/{sha}")
    raw = base64.b64decode(blob["content"]) if blob.get("encoding") == "base64" else blob["content"]
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)


async def sessions_since(gh: GitHubAPI, repo: str, since: datetime, *, pages: int = 50) -> int:
    """The audits the ledger recorded since `since` (each a session), from the branch's commit
    list: one commit per record, newest first, its subject naming an audit. An audit out of its
    gate's scope started no session, and is not counted. A forged commit can only raise the count
    (the cap then refuses sooner, never passes); `pages` of 100 bound the reads.
    """
    count = 0
    for page in range(1, pages + 1):
        try:
            data: Any = await gh.getitem(
                f"/repos/{repo}/commits{{?sha,since,per_page,page}}",
                url_vars={
                    "sha": BRANCH,
                    "since": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "per_page": "100",
                    "page": str(page),
                },
            )
        except BadRequest as exc:
            if exc.status_code in {HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT}:
                return count  # no branch yet: nothing recorded
            raise
        for item in data:
            subject = str(item["commit"]["message"]).split("\n", 1)[0]
            if subject.startswith(AUDIT_SUBJECT) and "not in scope" not in subject:
                count += 1
        if len(data) < 100:
            break
    return count
