"""The ledger against the fake GitHub: atomic commits, compare-and-swap, refusals, read-back."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from appkit import finding, report
from fakes.github import FakeGitHub, Repo
from gidgethub import BadRequest
from gidgethub.aiohttp import GitHubAPI

from action.report import Report
from app.ledger.history import read_history
from app.ledger.records import README_PATH, AuditRecord, History, audit_record
from app.ledger.store import (
    BRANCH,
    LedgerContended,
    LedgerUnreadable,
    LedgerWriteRefused,
    write_record,
)
from app.ledger.waivers import Waiver
from tests.app.ledger.ledgerkit import (
    REPO,
    SEAL,
    T0,
    ClientFactory,
    record_audit,
    record_waiver,
)

F1, F2 = "cg-00000000a1", "cg-00000000a2"
REF = f"refs/heads/{BRANCH}"
BASE = "/repos/{owner}/{repo}"


def ledger_files(repo: Repo) -> dict[str, str]:
    return {p: b.decode() for p, b in repo.store.files_at(repo.refs[REF]).items()}


def chain(repo: Repo) -> list[str]:
    """The branch's commits from its head back to its root, asserting the history is linear."""
    shas, sha = [], repo.refs[REF]
    while True:
        shas.append(sha)
        parents = repo.store.commits[sha].parents
        assert len(parents) <= 1, "the ledger's history must be linear"
        if not parents:
            return shas
        sha = parents[0]


def route_counts(fake: FakeGitHub) -> list[tuple[str, str | None, int]]:
    return [(c.method, c.route, c.status) for c in fake.calls]


async def test_first_use_creates_an_orphan_branch_with_only_ledger_files(
    fake_github: FakeGitHub, repo: Repo, gh: GitHubAPI
) -> None:
    repo.install_workflow("on: push\n")
    main_before = repo.head("main")
    audited = report(finding(id=F1), finding(id=F2))
    commit = await record_audit(gh, REPO, audited, conclusion="failure", at=T0)

    assert repo.refs[REF] == commit.sha
    assert repo.store.commits[commit.sha].parents == []  # an orphan: no history from main
    assert repo.store.commits[commit.sha].message.startswith(
        "canon-gate: PR #12 @ aaaaaaa failure, 2 substantive\n"
    )
    files = ledger_files(repo)
    assert sorted(files) == [README_PATH, "prs/12/audits/20260501T120000Z-aaaaaaa-99.json"]
    assert not any(p.startswith(".github/") for p in files)
    assert "canon-gate ledger" in files[README_PATH]
    saved = json.loads(files[commit.path])
    assert saved["kind"] == "audit"
    assert saved["conclusion"] == "failure"
    assert Report.model_validate(saved["report"]) == audited
    assert repo.head("main") == main_before
    # One commit on first use: GET ref (404), POST tree, POST commit, POST ref.
    assert route_counts(fake_github) == [
        ("GET", BASE + "/git/ref/{ref}", 404),
        ("POST", BASE + "/git/trees", 201),
        ("POST", BASE + "/git/commits", 201),
        ("POST", BASE + "/git/refs", 201),
    ]


async def test_a_later_commit_is_five_calls_and_fast_forwards(
    fake_github: FakeGitHub, repo: Repo, gh: GitHubAPI
) -> None:
    first = await record_audit(gh, REPO, report(finding(id=F1)), conclusion="failure", at=T0)
    fake_github.calls.clear()
    waiver = Waiver(F1, "accepted risk", "alice", T0 + timedelta(minutes=1), 12, "a" * 40)
    second = await record_waiver(gh, REPO, waiver, finding=finding(id=F1), conclusion="success")

    assert repo.store.commits[second.sha].parents == [first.sha]
    assert repo.store.commits[second.sha].message.startswith(
        f"canon-gate: waive {F1} on PR #12 by @alice\n"
    )
    assert route_counts(fake_github) == [
        ("GET", BASE + "/git/ref/{ref}", 200),
        ("GET", BASE + "/git/commits/{commit_sha}", 200),
        ("POST", BASE + "/git/trees", 201),
        ("POST", BASE + "/git/commits", 201),
        ("PATCH", BASE + "/git/refs/{ref}", 200),
    ]
    patch = fake_github.calls[-1]
    assert patch.json == {"sha": second.sha, "force": False}
    assert len(ledger_files(repo)) == 3


async def test_two_audits_finishing_at_once_both_land_in_a_linear_history(
    fake_github: FakeGitHub, repo: Repo, gh: GitHubAPI
) -> None:
    await record_audit(gh, REPO, report(), conclusion="success", at=T0)
    a = record_audit(
        gh,
        REPO,
        report(finding(id=F1), pr=1),
        conclusion="failure",
        at=T0 + timedelta(seconds=1),
    )
    b = record_audit(gh, REPO, report(pr=2), conclusion="success", at=T0 + timedelta(seconds=1))
    first, second = await asyncio.gather(a, b)

    files = ledger_files(repo)
    assert first.path in files
    assert second.path in files
    assert len(chain(repo)) == 3
    assert {first.sha, second.sha} <= set(chain(repo))
    # They really raced: one compare-and-swap lost, re-read and retried.
    refused = [
        c for c in fake_github.calls_to("PATCH", BASE + "/git/refs/{ref}") if c.status == 422
    ]
    assert len(refused) >= 1
    assert sorted([first.attempts, second.attempts])[-1] >= 2


async def test_concurrent_first_use_and_a_crowd_of_writers_lose_nothing(
    fake_github: FakeGitHub, repo: Repo, gh: GitHubAPI
) -> None:
    writes = [
        record_audit(gh, REPO, report(pr=n), conclusion="success", at=T0) for n in range(1, 7)
    ]
    commits = await asyncio.gather(*writes)

    files = ledger_files(repo)
    assert all(c.path in files for c in commits)
    assert len(files) == 7  # six audits and the README
    assert len(chain(repo)) == 6
    creates = fake_github.calls_to("POST", BASE + "/git/refs")
    assert [c.status for c in creates].count(201) == 1  # the branch was created exactly once


async def test_the_ledger_reads_back_as_the_complete_history_of_a_pr(
    fake_github: FakeGitHub, repo: Repo, gh: GitHubAPI
) -> None:
    push1 = report(finding(id=F1), finding(id=F2), head="1" * 40)
    push2 = report(finding(id=F1), finding(id=F2), head="2" * 40)
    push3 = report(finding(id=F1), head="3" * 40)
    await record_audit(gh, REPO, push1, conclusion="failure", at=T0)
    waiver = Waiver(F2, "tracked in #40", "alice", T0 + timedelta(minutes=5), 12, "1" * 40)
    await record_waiver(gh, REPO, waiver, conclusion="failure")
    await record_audit(
        gh, REPO, push2, conclusion="failure", waived=[F2], at=T0 + timedelta(hours=1)
    )
    await record_audit(gh, REPO, push3, conclusion="failure", at=T0 + timedelta(hours=2))
    await record_audit(gh, REPO, report(pr=13), conclusion="success", at=T0)  # another PR

    fake_github.calls.clear()
    history = await read_history(gh, REPO, 12, SEAL)
    audits, waivers = history.audits, history.waivers
    assert history.rejected == ()
    assert [a.head_sha[0] for a in audits] == ["3", "2", "1"]  # newest first
    assert [(a.conclusion, a.waived) for a in audits] == [
        ("failure", []),
        ("failure", [F2]),
        ("failure", []),
    ]
    assert [w.to_waiver() for w in waivers] == [waiver]
    assert history.latest is not None
    assert history.latest.report == push3
    # F2 was resolved at push 3, so its waiver no longer follows anything.
    assert history.waivers_in_force() == {}
    # Reads: the ref, the PR's folder and its two subtrees (never the whole ledger's tree), one
    # blob per record of this PR (3 audits + 1 waiver).
    routes = [c.route for c in fake_github.calls]
    assert routes[:4] == [
        BASE + "/git/ref/{ref}",
        BASE + "/contents/{path}",
        BASE + "/git/trees/{tree_sha}",
        BASE + "/git/trees/{tree_sha}",
    ]
    assert not any("recursive" in c.query for c in fake_github.calls)
    assert routes[4:] == [BASE + "/git/blobs/{file_sha}"] * 4

    fake_github.calls.clear()
    latest = await read_history(gh, REPO, 12, SEAL, audits_limit=1)
    assert [a.report for a in latest.audits] == [push3]
    assert len(latest.waivers) == 1
    assert len(fake_github.calls) == 4 + 2  # ref, folder, two subtrees, newest audit, waiver

    other = await read_history(gh, REPO, 13, SEAL)
    assert len(other.audits) == 1
    assert other.waivers == []  # waivers never carry to another PR


async def test_no_ledger_yet_is_an_empty_history(repo: Repo, gh: GitHubAPI) -> None:
    assert await read_history(gh, REPO, 12, SEAL) == History([], [])


async def test_a_protected_ledger_branch_refuses_without_looping(
    fake_github: FakeGitHub, repo: Repo, gh: GitHubAPI
) -> None:
    await record_audit(gh, REPO, report(), conclusion="success", at=T0)
    head = repo.refs[REF]
    fake_github.protect(repo, BRANCH)
    fake_github.calls.clear()
    with pytest.raises(LedgerWriteRefused) as refused:
        await record_audit(gh, REPO, report(finding(id=F1)), conclusion="failure")
    assert "Protected branch update failed" in refused.value.reason
    assert "422" in refused.value.reason
    assert len(fake_github.calls_to("PATCH", BASE + "/git/refs/{ref}")) == 1
    assert len(fake_github.calls) == 5
    assert repo.refs[REF] == head


async def test_a_token_without_contents_write_is_refused(
    fake_github: FakeGitHub, repo: Repo, client: ClientFactory
) -> None:
    reader = client({"contents": "read", "metadata": "read"})
    with pytest.raises(LedgerWriteRefused) as refused:
        await record_audit(reader, REPO, report(), conclusion="success")
    assert "Contents: write" in refused.value.reason
    assert "403" in refused.value.reason
    assert len(fake_github.calls) == 2  # GET ref (404), POST tree (403): no retry
    assert REF not in repo.refs


async def test_an_empty_repository_says_why_the_ledger_cannot_start(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake_github.add_installation(8, "octo")
    fake_github.add_repo("octo/empty", repo_id=202, installation_id=8, files={})
    token = fake_github.installation_token(8, permissions={"contents": "write"})
    gh = GitHubAPI(session, "tests", oauth_token=token, base_url=fake_github.base_url)
    with pytest.raises(LedgerWriteRefused, match="repository is empty"):
        await record_audit(gh, "octo/empty", report(), conclusion="success")
    assert len(fake_github.calls) == 2


async def test_a_writer_that_always_loses_gives_up(
    fake_github: FakeGitHub, repo: Repo, gh: GitHubAPI
) -> None:
    await record_audit(gh, REPO, report(), conclusion="success", at=T0)

    def competitor(request: web.Request) -> bool:
        # Another writer moves the branch just before each of our compare-and-swaps.
        if request.method == "PATCH" and request.path.endswith(f"/git/refs/heads/{BRANCH}"):
            repo.commit(BRANCH, {f"other/{len(repo.store.commits)}.json": "{}"})
        return False

    fake_github.inject(competitor, 500, times=-1)
    record = audit_record(report(pr=5), repo=REPO, conclusion="success", at=T0)
    with pytest.raises(LedgerContended, match="gave up after 3 attempts"):
        await write_record(gh, REPO, record, SEAL, attempts=3)
    assert len(fake_github.calls_to("PATCH", BASE + "/git/refs/{ref}")) == 3


async def test_a_secondary_rate_limit_is_not_a_refusal(
    fake_github: FakeGitHub, repo: Repo, gh: GitHubAPI
) -> None:
    fake_github.inject("POST " + BASE + "/git/trees", 403, headers={"retry-after": "1"})
    with pytest.raises(BadRequest) as raised:
        await record_audit(gh, REPO, report(), conclusion="success")
    assert not isinstance(raised.value, LedgerWriteRefused)


async def test_an_unreadable_ledger(
    fake_github: FakeGitHub, repo: Repo, client: ClientFactory
) -> None:
    blind = client({"metadata": "read"})
    with pytest.raises(LedgerUnreadable, match="403"):
        await read_history(blind, REPO, 12, SEAL)


async def test_records_survive_a_round_trip_through_github(repo: Repo, gh: GitHubAPI) -> None:
    record = audit_record(report(finding(id=F1)), repo=REPO, conclusion="failure", at=T0)
    await write_record(gh, REPO, record, SEAL)
    history = await read_history(gh, REPO, 12, SEAL)
    assert history.audits == [record]
    assert isinstance(history.audits[0], AuditRecord)
