"""Shared values and builders for the governance tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gidgethub.aiohttp import GitHubAPI

from action.report import Classification, Finding, Kind, Location, Report, RunInfo
from app.ledger.records import Waiver, audit_record, waiver_record
from app.ledger.store import LedgerCommit, write_record

INSTALLATION = 7
REPO = "octo/handbook"
T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)

# `client(permissions)`: a gidgethub client holding an installation token minted by the fake.
ClientFactory = Callable[..., GitHubAPI]


def make_finding(fid: str, classification: Classification = Classification.SUBSTANTIVE) -> Finding:
    return Finding(
        id=fid,
        classification=classification,
        kind=Kind.DRIFT,
        location=Location(path="docs/guide.md", start_line=3, end_line=4),
        claim=f"finding {fid}",
    )


def make_report(*findings: Finding, pr: int = 12, head: str = "a" * 40) -> Report:
    return Report(
        run=RunInfo(repo=REPO, pr=pr, head_sha=head, base_sha="b" * 40, check_run_id=99),
        findings=list(findings),
    )


async def record_audit(gh: GitHubAPI, repo: str, report: Report, **fields: Any) -> LedgerCommit:
    """Commit one audit record, as the App's governance step does."""
    return await write_record(gh, repo, audit_record(report, repo=repo, **fields))


async def record_waiver(gh: GitHubAPI, repo: str, waiver: Waiver, **fields: Any) -> LedgerCommit:
    """Commit one waiver record, as the App's command handler does."""
    return await write_record(gh, repo, waiver_record(waiver, repo=repo, **fields))
