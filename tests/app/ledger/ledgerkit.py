"""Shared values and ledger helpers for the governance tests (reports come from `appkit`)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from appkit import INSTALLATION_ID, REPO_NAME
from gidgethub.aiohttp import GitHubAPI

from action.report import Report
from app.judge.verdict import assess
from app.ledger.records import AuditRecord, audit_record, waiver_record
from app.ledger.seal import Seal
from app.ledger.store import LedgerCommit, write_record
from app.ledger.waivers import Waiver

INSTALLATION = INSTALLATION_ID
REPO = REPO_NAME
T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
# The seal these tests write and read with (the App derives its own from its private key).
SEAL = Seal("ledger-secret-for-tests")

# `client(permissions)`: a gidgethub client holding an installation token minted by the fake.
ClientFactory = Callable[..., GitHubAPI]


def judged_record(
    report: Report, *, repo: str, waived: Collection[str] = (), **fields: Any
) -> AuditRecord:
    """An audit record carrying the verdict's own counts, as the App's completion builds it."""
    run = report.run
    waivers = {fid: Waiver(fid, "r", "u", T0, run.pr or 0, run.head_sha or "") for fid in waived}
    judged = assess(report, waivers, None)
    return audit_record(
        report,
        repo=repo,
        blocking=judged.blocking,
        cosmetic=judged.cosmetic,
        waived=judged.waived,
        **fields,
    )


async def record_audit(gh: GitHubAPI, repo: str, report: Report, **fields: Any) -> LedgerCommit:
    """Commit one audit record, as the App's completion does."""
    return await write_record(gh, repo, judged_record(report, repo=repo, **fields), SEAL)


async def record_waiver(gh: GitHubAPI, repo: str, waiver: Waiver, **fields: Any) -> LedgerCommit:
    """Commit one waiver record, as the App's command handler does."""
    return await write_record(gh, repo, waiver_record(waiver, repo=repo, **fields), SEAL)
