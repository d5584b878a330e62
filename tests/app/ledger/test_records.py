"""The ledger's pure parts: records, paths, commit messages and the round trip through JSON."""

from __future__ import annotations

from datetime import timedelta

import pytest
from appkit import finding, report

from action.report import Classification, Report
from app.ledger.records import (
    README,
    AuditRecord,
    History,
    WaiverRecord,
    audit_record,
    commit_message,
    parse_record,
    record_path,
    waiver_record,
)
from app.ledger.trust import seal_record
from app.ledger.waivers import Waiver
from tests.app.ledger.ledgerkit import REPO, SEAL, T0, judged_record

F1, F2, F3 = "cg-0000000001", "cg-0000000002", "cg-0000000003"


def test_an_audit_record_counts_unwaived_findings_and_names_its_file() -> None:
    audited = report(
        finding(id=F1), finding(id=F2), finding(id=F3, classification=Classification.COSMETIC)
    )
    record = judged_record(
        audited, repo=REPO, conclusion="failure", waived=[F2, "cg-ffffffffff"], at=T0
    )
    assert (record.pr, record.head_sha, record.check_run_id) == (12, "a" * 40, 99)
    assert (record.substantive, record.cosmetic, record.waived) == (1, 1, [F2])
    assert record_path(record) == "prs/12/audits/20260501T120000Z-aaaaaaa-99.json"
    assert commit_message(record).splitlines()[0] == (
        "canon-gate: PR #12 @ aaaaaaa failure, 1 substantive"
    )
    assert "Waived: cg-0000000002" in commit_message(record)


def test_explicit_values_win_over_the_report_and_manual_runs_get_a_name() -> None:
    record = audit_record(
        Report(),
        repo=REPO,
        conclusion="success",
        pr=3,
        head_sha="c" * 40,
        workflow_run_id=55,
        at=T0,
    )
    assert record_path(record) == "prs/3/audits/20260501T120000Z-ccccccc-run55.json"
    bare = audit_record(Report(), repo=REPO, conclusion="success", pr=3, head_sha="c" * 40, at=T0)
    assert record_path(bare).endswith("-manual.json")


def test_an_audit_record_needs_a_pr_and_head() -> None:
    with pytest.raises(ValueError, match="PR number and head SHA"):
        audit_record(Report(), repo=REPO, conclusion="failure")


def test_a_not_evaluated_audit_says_so() -> None:
    audited = Report(error="quota exhausted", run=report().run)
    record = audit_record(audited, repo=REPO, conclusion="action_required", at=T0)
    message = commit_message(record)
    assert message.startswith("canon-gate: PR #12 @ aaaaaaa action_required, not evaluated\n")
    assert "quota exhausted" in message


def test_a_waiver_record() -> None:
    waiver = Waiver(F1, "known gap", "alice", T0, 12, "a" * 40)
    record = waiver_record(waiver, repo=REPO, finding=finding(id=F1), conclusion="success")
    assert record_path(record) == f"prs/12/waivers/20260501T120000Z-{F1}.json"
    assert commit_message(record).splitlines()[0] == f"canon-gate: waive {F1} on PR #12 by @alice"
    assert record.to_waiver() == waiver


def test_records_round_trip_through_their_files() -> None:
    audit = audit_record(report(finding(id=F1)), repo=REPO, conclusion="failure", at=T0)
    waiver = waiver_record(Waiver(F1, "r", "bob", T0, 12, "a" * 40), repo=REPO)
    assert parse_record(seal_record(audit, SEAL)) == audit
    assert parse_record(seal_record(waiver, SEAL)) == waiver
    assert isinstance(parse_record(seal_record(audit, SEAL)), AuditRecord)
    assert isinstance(parse_record(seal_record(waiver, SEAL)), WaiverRecord)
    with pytest.raises(ValueError, match="kind"):
        parse_record('{"kind": "other"}')


def test_history_finds_the_previous_audit_and_the_waivers_in_force() -> None:
    first = audit_record(report(finding(id=F1)), repo=REPO, conclusion="failure", at=T0)
    waiver = waiver_record(
        Waiver(F1, "r", "bob", T0 + timedelta(minutes=1), 12, "a" * 40), repo=REPO
    )
    second = judged_record(
        report(finding(id=F1), head="d" * 40),
        repo=REPO,
        conclusion="success",
        waived=[F1],
        check_run_id=100,
        at=T0 + timedelta(minutes=2),
    )
    history = History([second, first], [waiver])
    assert history.latest == second
    # A redelivered completion of check run 100 compares with the audit before its own.
    assert history.previous(100) == first
    assert history.previous(99) == second
    assert history.recorded(100)
    assert not history.recorded(101)
    assert history.waivers_in_force() == {F1: waiver.to_waiver()}


def test_the_readme_explains_the_layout() -> None:
    assert "prs/<number>/audits/" in README
    assert "prs/<number>/waivers/" in README
    assert "no workflows" in README
