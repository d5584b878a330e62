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

from app.ledger.records import AuditRecord, History, WaiverRecord
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


async def read_history(
    gh: GitHubAPI, repo: str, pr: int, seal: Seal, *, audits_limit: int | None = None
) -> History:
    """Read a PR's audits (newest first, at most `audits_limit`) and waivers from the branch.

    Only records the App sealed count (`app.ledger.trust`); the others are named in
    `History.rejected`. A missing branch is an empty history. Reads: the ref, one recursive
    tree, one blob per file.
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
    tree = await _get(gh, f"/repos/{repo}/git/trees/{commit_sha}?recursive=1")
    if tree.get("truncated"):
        # GitHub caps recursive trees; the ledger would need pruning long before that.
        logger.warning("ledger.tree_truncated", extra={"repo": repo, "pr": pr})
    prefix = f"prs/{pr}/"
    audit_blobs: list[tuple[str, str]] = []
    waiver_blobs: list[tuple[str, str]] = []
    for item in tree["tree"]:
        path = str(item["path"])
        if item["type"] != "blob" or not path.startswith(prefix) or not path.endswith(".json"):
            continue
        if path.startswith(prefix + "audits/"):
            audit_blobs.append((path, str(item["sha"])))
        elif path.startswith(prefix + "waivers/"):
            waiver_blobs.append((path, str(item["sha"])))
    # Names begin with the UTC timestamp, so the newest audits can be picked before any fetch.
    audit_blobs.sort(reverse=True)
    if audits_limit is not None:
        audit_blobs = audit_blobs[:audits_limit]
    gate = asyncio.Semaphore(_READ_CONCURRENCY)

    now = datetime.now(UTC)

    async def read(path: str, sha: str) -> AuditRecord | WaiverRecord | Rejected:
        async with gate:
            text = await _read_blob(gh, repo, sha)
        return read_record(path, text, seal, repo=repo, pr=pr, now=now)

    records = await asyncio.gather(*(read(p, s) for p, s in [*audit_blobs, *waiver_blobs]))
    rejected = tuple((r.path, r.reason) for r in records if isinstance(r, Rejected))
    if rejected:
        logger.warning("ledger.rejected", extra={"repo": repo, "pr": pr, "count": len(rejected)})
    audits = sorted(
        (r for r in records if isinstance(r, AuditRecord)),
        key=lambda r: r.recorded_at,
        reverse=True,
    )
    waivers = sorted(
        (r for r in records if isinstance(r, WaiverRecord)), key=lambda r: r.recorded_at
    )
    return History(audits, waivers, rejected)


async def _read_blob(gh: GitHubAPI, repo: str, sha: str) -> str:
    blob = await _get(gh, f"/repos/{repo}/git/blobs/{sha}")
    raw = base64.b64decode(blob["content"]) if blob.get("encoding") == "base64" else blob["content"]
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
