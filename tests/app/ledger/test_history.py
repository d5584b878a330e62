"""Reading a PR's history back is bounded: the newest audits and every waiver, and no lapsed
waiver comes back to life because older audits were left unread (issue 9, history read whole).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from appkit import finding, report
from fakes.github import FakeGitHub, Repo
from gidgethub.aiohttp import GitHubAPI

from action.report import Report
from app.ledger.history import LIFECYCLE_AUDITS, read_history
from app.ledger.records import Record, record_path, unwaiver_record, waiver_record
from app.ledger.store import BRANCH, commit_files
from app.ledger.trust import seal_record
from app.ledger.waivers import Audited, Unwaiver, Waiver, settle_waivers
from tests.app.ledger.ledgerkit import REPO, SEAL, T0, judged_record

X, Y = "cg-00000000b1", "cg-00000000b2"
BLOBS = "/repos/{owner}/{repo}/git/blobs/{file_sha}"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def waiver(minutes: float, fid: str = X, **fields: object) -> Waiver:
    return Waiver(fid, "known gap", "maintainer", at(minutes), 12, "a" * 40, **fields)  # type: ignore[arg-type]


def audit(
    minutes: float, *fids: str, waived: Sequence[str] = (), error: str | None = None
) -> Record:
    """An audit record of PR 12 at T0 + `minutes`, whose verdict waived `waived`."""
    audited = report(
        *(finding(id=f) for f in fids), error=error, check_run_id=int(minutes * 6000) + 1
    )
    return judged_record(audited, repo=REPO, conclusion="failure", waived=waived, at=at(minutes))


async def seed(gh: GitHubAPI, records: Sequence[Record]) -> None:
    """Commit records as the App writes them (sealed, at their own paths), in one commit."""
    files = {record_path(r): seal_record(r, SEAL) for r in records}
    await commit_files(gh, REPO, files, "seed")


def blob_reads(fake: FakeGitHub) -> int:
    return len(fake.calls_to("GET", BLOBS))


async def test_a_long_history_reads_only_the_newest_audits_and_every_waiver(
    fake_github: FakeGitHub, repo: Repo, gh: GitHubAPI
) -> None:
    audits = [audit(10 * n, X, waived=[X] if n else []) for n in range(40)]
    await seed(gh, [*audits, waiver_record(waiver(5), repo=REPO)])
    fake_github.calls.clear()
    history = await read_history(gh, REPO, 12, SEAL)
    assert [a.recorded_at for a in history.audits] == [at(10 * n) for n in (39, 38, 37)]
    assert blob_reads(fake_github) == LIFECYCLE_AUDITS + 1  # and the one waiver
    # The newest verdict waived X, so the waiver is in force without reading further back.
    assert set(history.waivers_in_force()) == {X}


async def test_a_lapsed_waiver_stays_lapsed_however_many_audits_follow(
    fake_github: FakeGitHub, repo: Repo, gh: GitHubAPI
) -> None:
    # Waived at 5; the audit at 10 no longer reported X, so the waiver lapsed there. X came back
    # at 20 and every later audit reports it, unwaived.
    audits = [audit(0, X), audit(10), *(audit(10 * n, X) for n in range(2, 40))]
    await seed(gh, [*audits, waiver_record(waiver(5), repo=REPO)])
    fake_github.calls.clear()
    history = await read_history(gh, REPO, 12, SEAL)
    assert history.waivers_in_force() == {}
    # It read back to the audit that lapsed it.
    assert any(a.recorded_at == at(10) for a in history.audits)
    assert blob_reads(fake_github) <= len(audits) + 1
    # Reading only the newest audits would have brought it back.
    newest = history._replace(audits=history.audits[:LIFECYCLE_AUDITS], covered_from=None)
    assert set(newest.waivers_in_force()) == {X}


async def test_a_waiver_the_newest_verdict_could_not_see_is_still_in_force(
    fake_github: FakeGitHub, repo: Repo, gh: GitHubAPI
) -> None:
    # The audit at 30 concluded while the waiver at 29 was being written: it reports X, unwaived.
    audits = [audit(10 * n, X) for n in range(4)]
    await seed(gh, [*audits, waiver_record(waiver(29), repo=REPO)])
    history = await read_history(gh, REPO, 12, SEAL)
    assert set(history.waivers_in_force()) == {X}


async def test_audits_of_one_second_are_read_together(
    fake_github: FakeGitHub, repo: Repo, gh: GitHubAPI
) -> None:
    # Names sort by their second; a page never splits one, so nothing newer is left unread.
    same = [audit(1 + n / 600, X, waived=[X]) for n in range(5)]  # five audits within one second
    await seed(gh, [audit(0, X), *same, waiver_record(waiver(0.5), repo=REPO)])
    history = await read_history(gh, REPO, 12, SEAL, audits_limit=1)
    assert len(history.audits) == 5
    assert set(history.waivers_in_force()) == {X}


async def test_unwaivers_are_read_with_the_waivers(
    fake_github: FakeGitHub, repo: Repo, gh: GitHubAPI
) -> None:
    ended = unwaiver_record(
        Unwaiver(X, "maintainer", at(6), 12), repo=REPO, head_sha="a" * 40, reason="fixed soon"
    )
    await seed(gh, [audit(0, X, Y), waiver_record(waiver(5), repo=REPO), ended])
    history = await read_history(gh, REPO, 12, SEAL)
    assert [u.finding_id for u in history.unwaivers] == [X]
    assert history.waivers_in_force() == {}


async def test_a_sealed_record_copied_under_a_newer_name_is_rejected(
    fake_github: FakeGitHub, repo: Repo, gh: GitHubAPI
) -> None:
    old = audit(0, X)
    await seed(gh, [old, audit(10)])
    sealed = seal_record(old, SEAL)
    repo.commit(BRANCH, {"prs/12/audits/20990101T000000Z-aaaaaaa-1.json": sealed}, "copy")
    history = await read_history(gh, REPO, 12, SEAL)
    assert [a.recorded_at for a in history.audits] == [at(10), at(0)]
    [(path, why)] = history.rejected
    assert path.startswith("prs/12/audits/20990101T000000Z")
    assert why.startswith("a record of prs/12/audits/20260501T120000Z")


# The rule itself, pure.


def test_a_waiver_lapses_at_the_first_evaluated_audit_without_its_finding() -> None:
    audits = [Audited(at(10), Report()), Audited(at(20), report(finding(id=X)))]
    in_force, undecided = settle_waivers([waiver(5)], audits, now=at(30))
    assert (in_force, undecided) == ({}, set())


def test_a_not_evaluated_audit_neither_lapses_nor_vouches() -> None:
    audits = [Audited(at(10), Report(error="quota"), frozenset({X}))]
    assert set(settle_waivers([waiver(5)], audits, now=at(30))[0]) == {X}


def test_unread_older_audits_leave_a_waiver_undecided_until_they_are_read() -> None:
    newest = [Audited(at(30), report(finding(id=X))), Audited(at(20), report(finding(id=X)))]
    in_force, undecided = settle_waivers([waiver(5)], newest, now=at(40), covered_from=at(20))
    assert (in_force, undecided) == ({}, {X})
    # A verdict that waived X vouches for everything between the waiver and it.
    vouched = [Audited(at(30), report(finding(id=X)), frozenset({X}))]
    assert set(settle_waivers([waiver(5)], vouched, now=at(40), covered_from=at(30))[0]) == {X}
    # Read back past the waiver, nothing is undecided.
    assert settle_waivers([waiver(25)], newest, now=at(40), covered_from=at(20)) == (
        {X: waiver(25)},
        set(),
    )


@pytest.mark.parametrize(
    ("days", "now_days", "in_force"), [(None, 400, True), (30, 29, True), (30, 30, False)]
)
def test_an_expired_waiver_no_longer_applies(
    days: int | None, now_days: int, in_force: bool
) -> None:
    expires = at(5) + timedelta(days=days) if days else None
    granted = waiver(5, expires_at=expires)
    audits = [Audited(at(10), report(finding(id=X)))]
    now = at(5) + timedelta(days=now_days)
    assert (X in settle_waivers([granted], audits, now=now)[0]) is in_force


def test_the_newest_event_of_an_id_wins() -> None:
    audits = [Audited(at(1), report(finding(id=X)))]
    ended = Unwaiver(X, "maintainer", at(6), 12)
    assert settle_waivers([waiver(5)], audits, now=at(9), unwaivers=[ended])[0] == {}
    again = waiver(7)
    assert settle_waivers([waiver(5), again], audits, now=at(9), unwaivers=[ended])[0] == {X: again}
