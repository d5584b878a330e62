"""Shared values and builders for the governance tests."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from gidgethub.aiohttp import GitHubAPI

from action.report import Classification, Finding, Kind, Location, Report, RunInfo
from app.judge.verdict import assess
from app.ledger.records import AuditRecord, Waiver, audit_record, waiver_record
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
    return await write_record(gh, repo, judged_record(report, repo=repo, **fields))


async def record_waiver(gh: GitHubAPI, repo: str, waiver: Waiver, **fields: Any) -> LedgerCommit:
    """Commit one waiver record, as the App's command handler does."""
    return await write_record(gh, repo, waiver_record(waiver, repo=repo, **fields))
