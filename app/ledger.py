"""The ledger: every verdict and waiver as a commit on the orphan branch `canon-gate/ledger`.

Pure functions build each record, its path and its commit message; a thin writer makes one
atomic commit per event with the Git Data API, and the ref update is a compare-and-swap
(`force: false`), so concurrent audits never lose a record. Readers rebuild a PR's history from
the branch alone: the App keeps nothing of it in memory.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any, Literal, NamedTuple

from gidgethub import BadRequest, RateLimitExceeded
from gidgethub.abc import GitHubAPI
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from action.report import Finding, Report
from app.lifecycle import Waiver
from app.waivers import waivers_in_force

logger = logging.getLogger(__name__)

BRANCH = "canon-gate/ledger"
LEDGER_FORMAT = 1
README_PATH = "README.md"
ATTEMPTS = 6
_BASE_DELAY = 0.05
_STAMP = "%Y%m%dT%H%M%SZ"
# Blob reads in flight at once: well under GitHub's 100 concurrent requests (secondary limits).
_READ_CONCURRENCY = 8


class LedgerError(Exception):
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


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    format: int = LEDGER_FORMAT
    recorded_at: datetime
    repo: str
    pr: int
    head_sha: str


class AuditRecord(_Record):
    """One concluded audit: the validated report and the verdict it got."""

    kind: Literal["audit"] = "audit"
    base_sha: str | None = None
    check_run_id: int | None = None
    workflow_run_id: int | None = None
    conclusion: str
    # Unwaived substantive findings at the time of the verdict.
    substantive: int = 0
    cosmetic: int = 0
    waived: list[str] = Field(default_factory=list)
    report: Report


class WaiverRecord(_Record):
    """One waiver: who let which finding pass on which PR, when and why."""

    kind: Literal["waiver"] = "waiver"
    finding_id: str
    reason: str
    user: str
    comment_url: str | None = None
    # A copy of the waived finding, so the file reads on its own when browsing the branch.
    finding: Finding | None = None
    # The verdict after the waiver, when the caller knows it.
    conclusion: str | None = None

    def to_waiver(self) -> Waiver:
        return Waiver(
            finding_id=self.finding_id,
            reason=self.reason,
            user=self.user,
            at=self.recorded_at,
            pr=self.pr,
            head_sha=self.head_sha,
        )


class History(NamedTuple):
    """A PR's ledger: audits newest first, waivers in the order they were recorded."""

    audits: list[AuditRecord]
    waivers: list[WaiverRecord]

    @property
    def latest(self) -> AuditRecord | None:
        return self.audits[0] if self.audits else None

    def events(self) -> list[AuditRecord | WaiverRecord]:
        """Return every record of the PR in the order it happened."""
        merged: list[AuditRecord | WaiverRecord] = [*self.audits, *self.waivers]
        return sorted(merged, key=lambda r: r.recorded_at)

    def waivers_in_force(self) -> dict[str, Waiver]:
        """Return the PR's waivers that still follow their finding, keyed by finding id."""
        return waivers_in_force(
            [w.to_waiver() for w in self.waivers],
            [(a.recorded_at, a.report) for a in self.audits],
        )


@dataclass(frozen=True)
class LedgerCommit:
    sha: str
    path: str
    attempts: int


# -- pure: records, paths, messages ------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def audit_record(
    report: Report,
    *,
    repo: str,
    conclusion: str,
    pr: int | None = None,
    head_sha: str | None = None,
    base_sha: str | None = None,
    check_run_id: int | None = None,
    workflow_run_id: int | None = None,
    waived: Collection[str] = (),
    at: datetime | None = None,
) -> AuditRecord:
    """Build the record of one concluded audit; explicit values win over the report's own."""
    run = report.run
    pr = pr if pr is not None else run.pr
    head_sha = head_sha or run.head_sha
    if pr is None or not head_sha:
        raise ValueError("an audit record needs the PR number and head SHA")
    waived_ids = sorted(set(waived) & {f.id for f in report.findings})
    unwaived = [f for f in report.findings if f.id not in waived_ids]
    return AuditRecord(
        recorded_at=at or _now(),
        repo=repo,
        pr=pr,
        head_sha=head_sha,
        base_sha=base_sha or run.base_sha,
        check_run_id=check_run_id if check_run_id is not None else run.check_run_id,
        workflow_run_id=workflow_run_id if workflow_run_id is not None else run.workflow_run_id,
        conclusion=conclusion,
        substantive=sum(1 for f in unwaived if f.substantive),
        cosmetic=sum(1 for f in unwaived if not f.substantive),
        waived=waived_ids,
        report=report,
    )


def waiver_record(
    waiver: Waiver,
    *,
    repo: str,
    finding: Finding | None = None,
    conclusion: str | None = None,
    comment_url: str | None = None,
) -> WaiverRecord:
    return WaiverRecord(
        recorded_at=waiver.at,
        repo=repo,
        pr=waiver.pr,
        head_sha=waiver.head_sha,
        finding_id=waiver.finding_id,
        reason=waiver.reason,
        user=waiver.user,
        comment_url=comment_url,
        finding=finding,
        conclusion=conclusion,
    )


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime(_STAMP)


def record_path(record: AuditRecord | WaiverRecord) -> str:
    """Return where a record lives on the branch; the UTC timestamp first, so names sort in time."""
    prefix = f"prs/{record.pr}"
    if isinstance(record, WaiverRecord):
        return f"{prefix}/waivers/{_stamp(record.recorded_at)}-{record.finding_id}.json"
    if record.check_run_id is not None:
        run = str(record.check_run_id)
    elif record.workflow_run_id is not None:
        run = f"run{record.workflow_run_id}"
    else:
        run = "manual"
    return f"{prefix}/audits/{_stamp(record.recorded_at)}-{record.head_sha[:7]}-{run}.json"


def commit_message(record: AuditRecord | WaiverRecord) -> str:
    """Say what happened, in a subject line a person can scan in the branch's history."""
    if isinstance(record, WaiverRecord):
        subject = f"canon-gate: waive {record.finding_id} on PR #{record.pr} by @{record.user}"
        return f"{subject}\n\nReason: {record.reason}\nHead: {record.head_sha}\n"
    outcome = f"{record.substantive} substantive" if record.report.evaluated else "not evaluated"
    subject = f"canon-gate: PR #{record.pr} @ {record.head_sha[:7]} {record.conclusion}, {outcome}"
    lines = [f"Head: {record.head_sha}", f"Base: {record.base_sha or 'unknown'}"]
    if record.check_run_id is not None:
        lines.append(f"Check run: {record.check_run_id}")
    if record.workflow_run_id is not None:
        lines.append(f"Workflow run: {record.workflow_run_id}")
    if record.waived:
        lines.append(f"Waived: {', '.join(record.waived)}")
    if record.report.error:
        lines.append(f"Not evaluated: {record.report.error}")
    return subject + "\n\n" + "\n".join(lines) + "\n"


def render_record(record: AuditRecord | WaiverRecord) -> str:
    return record.model_dump_json(indent=2) + "\n"


_RECORD: TypeAdapter[AuditRecord | WaiverRecord] = TypeAdapter(
    Annotated[AuditRecord | WaiverRecord, Field(discriminator="kind")]
)


def parse_record(text: str) -> AuditRecord | WaiverRecord:
    """Read one ledger file back; raise ValueError when it is neither record."""
    return _RECORD.validate_json(text)


README = f"""\
# canon-gate ledger

This branch is written by the canon-gate GitHub App. It is the record of every verdict and every
waiver of the `canon-gate` merge gate in this repository: one commit per event, never rewritten.
It is an orphan branch that holds only these files (no code and no workflows), so nothing runs
when it changes. Do not merge it, and do not edit it by hand.

## Layout

- `prs/<number>/audits/<UTC timestamp>-<head sha7>-<check run id>.json`: one concluded audit.
  `kind` is `audit`; it holds the PR, head and base SHA, the check run and workflow run ids, the
  `conclusion` the check run got, the count of unwaived `substantive` and `cosmetic` findings, the
  finding ids `waived` at the time, and the validated findings `report` the audit session wrote.
  A run dispatched by hand has `run<workflow run id>` or `manual` instead of a check run id.
- `prs/<number>/waivers/<UTC timestamp>-<finding id>.json`: one waiver. `kind` is `waiver`; it
  holds the finding id (a fingerprint of the finding's stable parts), the `reason`, the `user` who
  waived it, when (`recorded_at`), the head SHA it was waived at, a copy of the finding, and the
  verdict after the waiver. A waiver follows its finding across pushes while the finding persists
  on the same pull request, and never carries to another one.

Timestamps are UTC (`YYYYMMDDTHHMMSSZ` in names, ISO 8601 inside). Every file carries
`format: {LEDGER_FORMAT}`. Commit subjects say what happened, for example
`canon-gate: PR #12 @ abc1234 failure, 2 substantive` or
`canon-gate: waive cg-0123abcd45 on PR #12 by @alice`.

Turn the ledger off with `ledger: false` in `.github/canon-gate.yml`; waivers are then unavailable.
"""


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
    else:
        why = f"a branch rule or protection on `{BRANCH}` refused the update"
    return LedgerWriteRefused(f"{why} (GitHub answered {status} to {step}: {said})")


def _refusable(exc: BadRequest) -> bool:
    # Rate limits are transient; they propagate for the caller's retry or the delivery log.
    if isinstance(exc, RateLimitExceeded) or "retry-after" in {k.lower() for k in exc.headers}:
        return False
    return exc.status_code in {403, 404, 409, 422}


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
    on top of it, up to `attempts` times with jittered backoff.
    """
    blobs = {README_PATH: README, **files}
    entries = [
        {"path": path, "mode": "100644", "type": "blob", "content": text}
        for path, text in blobs.items()
    ]
    path = next(iter(files), README_PATH)
    for attempt in range(1, attempts + 1):
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
                logger.info(
                    "ledger.conflict", extra={"repo": repo, "attempt": attempt, "step": step}
                )
                if attempt < attempts:
                    # Full jitter: concurrent writers spread out instead of colliding again.
                    delay = random.uniform(0, _BASE_DELAY * 2**attempt)  # noqa: S311
                    await asyncio.sleep(delay)
                continue
            if _refusable(exc):
                refused = _refusal(exc, step, creating=head is None)
                logger.warning("ledger.refused", extra={"repo": repo, "reason": refused.reason})
                raise refused from exc
            raise
        logger.info(
            "ledger.commit", extra={"repo": repo, "sha": sha, "path": path, "attempt": attempt}
        )
        return LedgerCommit(sha=sha, path=path, attempts=attempt)
    raise LedgerContended(
        f"another writer kept moving `{BRANCH}`; gave up after {attempts} attempts"
    )


async def write_record(
    gh: GitHubAPI, repo: str, record: AuditRecord | WaiverRecord, *, attempts: int = ATTEMPTS
) -> LedgerCommit:
    """Commit one record to the ledger."""
    files = {record_path(record): render_record(record)}
    return await commit_files(gh, repo, files, commit_message(record), attempts=attempts)


async def record_audit(
    gh: GitHubAPI,
    repo: str,
    report: Report,
    *,
    conclusion: str,
    pr: int | None = None,
    head_sha: str | None = None,
    base_sha: str | None = None,
    check_run_id: int | None = None,
    workflow_run_id: int | None = None,
    waived: Collection[str] = (),
    at: datetime | None = None,
) -> LedgerCommit:
    """Commit the record of one concluded audit; raise LedgerWriteRefused when GitHub refuses."""
    record = audit_record(
        report,
        repo=repo,
        conclusion=conclusion,
        pr=pr,
        head_sha=head_sha,
        base_sha=base_sha,
        check_run_id=check_run_id,
        workflow_run_id=workflow_run_id,
        waived=waived,
        at=at,
    )
    return await write_record(gh, repo, record)


async def record_waiver(
    gh: GitHubAPI,
    repo: str,
    waiver: Waiver,
    *,
    finding: Finding | None = None,
    conclusion: str | None = None,
    comment_url: str | None = None,
) -> LedgerCommit:
    """Commit one waiver; raise LedgerWriteRefused when GitHub refuses."""
    record = waiver_record(
        waiver, repo=repo, finding=finding, conclusion=conclusion, comment_url=comment_url
    )
    return await write_record(gh, repo, record)


# -- I/O: the readers ---------------------------------------------------------------------------


async def _get(gh: GitHubAPI, url: str) -> Any:
    try:
        return await gh.getitem(url)
    except BadRequest as exc:
        if isinstance(exc, RateLimitExceeded) or exc.status_code not in {403, 404, 409}:
            raise
        raise LedgerUnreadable(f"GitHub answered {int(exc.status_code)} to GET {url}") from exc


async def read_history(
    gh: GitHubAPI, repo: str, pr: int, *, audits_limit: int | None = None
) -> History:
    """Read a PR's audits (newest first, at most `audits_limit`) and waivers from the branch.

    A missing branch is an empty history. Reads: the ref, one recursive tree, one blob per file.
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

    async def read(path: str, sha: str) -> AuditRecord | WaiverRecord | None:
        async with gate:
            return await _read_blob(gh, repo, path, sha)

    records = await asyncio.gather(*(read(p, s) for p, s in [*audit_blobs, *waiver_blobs]))
    audits = sorted(
        (r for r in records if isinstance(r, AuditRecord)),
        key=lambda r: r.recorded_at,
        reverse=True,
    )
    waivers = sorted(
        (r for r in records if isinstance(r, WaiverRecord)), key=lambda r: r.recorded_at
    )
    return History(audits, waivers)


async def _read_blob(
    gh: GitHubAPI, repo: str, path: str, sha: str
) -> AuditRecord | WaiverRecord | None:
    blob = await _get(gh, f"/repos/{repo}/git/blobs/{sha}")
    raw = base64.b64decode(blob["content"]) if blob.get("encoding") == "base64" else blob["content"]
    text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    try:
        return parse_record(text)
    except ValueError:
        # A hand-edited or foreign file: skip it rather than losing the whole history.
        logger.warning("ledger.bad_record", extra={"repo": repo, "path": path})
        return None


async def read_latest_audit(gh: GitHubAPI, repo: str, pr: int) -> History:
    """Read the newest audit of a PR and all its waivers."""
    return await read_history(gh, repo, pr, audits_limit=1)
