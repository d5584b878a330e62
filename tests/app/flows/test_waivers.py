"""Waivers through the front door: who may waive, unwaive, expiry, what a recomputed verdict may
rest on, a waiver racing a re-audit, and how much of the ledger a completion reads (issue 9).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from appkit import Gate, artifact, finding, governance_key_at, report, report_for

from app.ledger.history import LIFECYCLE_AUDITS
from app.ledger.records import record_path, waiver_record
from app.ledger.seal import Seal
from app.ledger.store import BRANCH
from app.ledger.trust import seal_record
from app.ledger.waivers import Waiver
from tests.app.flows.test_governance import audit, comment, ledger_files, replies
from tests.app.ledger.ledgerkit import judged_record

REASON = "the guide is historical"


def config(gate: Gate, text: str) -> None:
    gate.repo.commit("main", {".github/canon-gate.yml": text}, "config")


def waiver_files(gate: Gate, number: int) -> dict[str, Any]:
    return {p: v for p, v in ledger_files(gate).items() if p.startswith(f"prs/{number}/waivers/")}


def seal_of(gate: Gate) -> Seal:
    """The App's own seal (derived from its private key), to write records as it writes them."""
    return Seal(gate.settings.github_app_private_key.get_secret_value())  # type: ignore[union-attr]


def record_as_the_app(gate: Gate, *records: Any) -> None:
    files = {record_path(r): seal_record(r, seal_of(gate)) for r in records}
    gate.repo.commit(BRANCH, files, "canon-gate: records")


async def failing(gate: Gate, number: int) -> tuple[Any, Any]:
    """A PR by alice whose audit found one blocking finding."""
    pull = gate.repo.open_pull(number, {"docs/guide.md": "x\n"})
    blocking = finding()
    assert (await audit(gate, pull, [blocking])).conclusion == "failure"
    return pull, blocking


# Separation of duties.


async def test_the_author_may_not_waive_on_their_own_pull_request(gate: Gate) -> None:
    gate.repo.set_permission("alice", "write")
    pull, blocking = await failing(gate, 80)
    before = gate.repo.head(BRANCH)
    assert (
        await comment(gate, pull, f"/canon-gate waive {blocking.id} {REASON}", user="alice") == 200
    )
    assert gate.repo.head(BRANCH) == before  # nothing recorded
    assert [c.conclusion for c in gate.check_runs()] == ["failure"]
    [answer] = replies(gate, 80)
    assert answer.startswith("@alice, you opened this pull request")
    assert "waivers.allow_author: false" in answer


async def test_allow_author_lets_the_author_waive(gate: Gate) -> None:
    config(gate, "waivers:\n  allow_author: true\n")
    gate.repo.set_permission("alice", "write")
    pull, blocking = await failing(gate, 81)
    assert (
        await comment(gate, pull, f"/canon-gate waive {blocking.id} {REASON}", user="alice") == 200
    )
    assert gate.check_runs()[-1].conclusion == "success"


# Unwaive.


async def test_unwaive_ends_a_waiver_and_the_verdict_is_recomputed(gate: Gate) -> None:
    pull, blocking = await failing(gate, 82)
    await comment(gate, pull, f"/canon-gate waive {blocking.id} {REASON}")
    assert gate.check_runs()[-1].conclusion == "success"
    assert await comment(gate, pull, f"/canon-gate unwaive {blocking.id}") == 200
    assert [c.conclusion for c in gate.check_runs()] == ["failure", "success", "failure"]
    assert replies(gate, 82)[-1] == (
        f"Unwaived {blocking.id}: the finding counts again. The verdict is now failure."
    )
    [ended] = [v for p, v in waiver_files(gate, 82).items() if p.endswith("-unwaive.json")]
    assert (ended["kind"], ended["finding_id"], ended["user"]) == (
        "unwaive",
        blocking.id,
        "maintainer",
    )
    # It stays ended at the next audit.
    gate.repo.push(pull, {"docs/guide.md": "y\n"})
    assert (await audit(gate, pull, [blocking])).conclusion == "failure"


async def test_unwaive_of_a_finding_not_waived_is_refused(gate: Gate) -> None:
    pull, blocking = await failing(gate, 83)
    before = gate.repo.head(BRANCH)
    assert await comment(gate, pull, f"/canon-gate unwaive {blocking.id}") == 200
    assert gate.repo.head(BRANCH) == before
    assert replies(gate, 83)[-1].startswith(f"No waiver of `{blocking.id}` is in force")


# The waivers in force, listed.


async def test_help_and_the_summary_list_the_waivers_in_force(gate: Gate) -> None:
    config(gate, "waivers:\n  expire_days: 30\n")
    pull, blocking = await failing(gate, 84)
    assert await comment(gate, pull, "/canon-gate help", user="reader") == 200
    assert replies(gate, 84)[-1].endswith("**Waivers in force on this pull request:** none.")
    await comment(gate, pull, f"/canon-gate waive {blocking.id} {REASON}")
    expires = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    assert replies(gate, 84)[-1].endswith(f"The waiver expires on {expires}.")
    await comment(gate, pull, "/canon-gate help", user="reader")
    listed = replies(gate, 84)[-1]
    assert "**Waivers in force on this pull request** (1):" in listed
    assert f"- `{blocking.id}`, by maintainer on " in listed
    assert f"expires {expires}: the guide is historical" in listed
    summary = gate.check_runs()[-1].output["summary"]
    assert "| Reason | Waived by | Expires |" in summary
    assert f"| {expires} |" in summary


async def test_an_expired_waiver_no_longer_applies(gate: Gate) -> None:
    config(gate, "waivers:\n  expire_days: 1\n")
    pull, blocking = await failing(gate, 85)
    # A waiver the App granted two days ago, for one day (written as the App writes it).
    granted = datetime.now(UTC) - timedelta(days=2)
    waiver = Waiver(
        blocking.id, REASON, "maintainer", granted, 85, pull.head_sha, granted + timedelta(days=1)
    )
    record = waiver_record(waiver, repo=gate.repo.full_name)
    record_as_the_app(gate, record)
    gate.repo.push(pull, {"docs/guide.md": "y\n"})
    check = await audit(gate, pull, [blocking])
    assert check.conclusion == "failure"
    assert "Waived" not in check.output["title"]
    await comment(gate, pull, "/canon-gate help", user="reader")
    assert replies(gate, 85)[-1].endswith("**Waivers in force on this pull request:** none.")


# What a recomputed verdict may rest on (defects 1 and 2).


async def test_a_waiver_after_a_push_records_but_posts_no_verdict_for_the_old_head(
    gate: Gate,
) -> None:
    pull, blocking = await failing(gate, 86)
    judged = pull.head_sha
    gate.repo.push(pull, {"docs/guide.md": "y\n"})  # its webhook has not arrived yet
    assert await comment(gate, pull, f"/canon-gate waive {blocking.id} {REASON}") == 200
    assert [c.conclusion for c in gate.check_runs()] == ["failure"]  # no verdict posted
    assert len(waiver_files(gate, 86)) == 1  # the waiver is recorded
    [answer] = replies(gate, 86)
    assert answer.startswith(
        f"Waived {blocking.id}: {REASON}. It is recorded in the ledger, but no verdict was "
        f"posted: the latest recorded audit judged {judged[:7]}, and the pull request's head is "
        f"now {pull.head_sha[:7]}."
    )
    assert "comment `/canon-gate rerun` to audit now" in answer
    # The next audit applies it.
    assert (await audit(gate, pull, [blocking])).conclusion == "success"


async def test_a_waiver_after_the_canon_changed_posts_no_verdict_until_a_rerun(
    gate: Gate,
) -> None:
    pull, blocking = await failing(gate, 87)
    gate.repo.commit("main", {"canon/new-rule.md": "---\nuri: x\n---\nA new rule.\n"}, "canon")
    assert await comment(gate, pull, f"/canon-gate waive {blocking.id} {REASON}") == 200
    assert [c.conclusion for c in gate.check_runs()] == ["failure"]
    assert "the config or canon of the base branch changed" in replies(gate, 87)[0]
    assert len(waiver_files(gate, 87)) == 1
    await comment(gate, pull, "/canon-gate rerun")
    [active] = [c for c in gate.check_runs() if c.status != "completed"]
    [run] = gate.runs_for(active.id)
    done = gate.fake.complete_run(
        gate.repo, run.id, "success", artifact(report_for(run, findings=[blocking]))
    )
    assert await gate.deliver("workflow_run", done) == 200
    assert gate.repo.check_runs[active.id].conclusion == "success"


# A waiver racing a re-audit of the same head: the newest verdict wins, in either order.


async def rerun_started(gate: Gate, pull: Any) -> tuple[Any, Any]:
    await comment(gate, pull, "/canon-gate rerun")
    [active] = [c for c in gate.check_runs() if c.status != "completed"]
    [run] = gate.runs_for(active.id)
    return active, run


async def test_a_waiver_while_a_re_audit_runs_is_applied_by_that_audit(gate: Gate) -> None:
    pull, blocking = await failing(gate, 88)
    active, run = await rerun_started(gate, pull)
    assert await comment(gate, pull, f"/canon-gate waive {blocking.id} {REASON}") == 200
    # Recorded, but no verdict of its own: the running audit's will be the newest.
    assert len(waiver_files(gate, 88)) == 1
    assert [c.id for c in gate.check_runs()][-1] == active.id
    assert replies(gate, 88)[-1].startswith(
        f"Waived {blocking.id}: {REASON}. It is recorded in the ledger; no verdict was posted "
        "now: an audit of this head is running"
    )
    done = gate.fake.complete_run(
        gate.repo, run.id, "success", artifact(report_for(run, findings=[blocking]))
    )
    assert await gate.deliver("workflow_run", done) == 200
    newest = gate.check_runs()[-1]
    assert (newest.id, newest.conclusion) == (active.id, "success")


async def test_a_waiver_after_the_re_audit_concluded_posts_the_newest_verdict(gate: Gate) -> None:
    pull, blocking = await failing(gate, 89)
    active, run = await rerun_started(gate, pull)
    done = gate.fake.complete_run(
        gate.repo, run.id, "success", artifact(report_for(run, findings=[blocking]))
    )
    assert await gate.deliver("workflow_run", done) == 200
    assert gate.repo.check_runs[active.id].conclusion == "failure"
    await comment(gate, pull, f"/canon-gate waive {blocking.id} {REASON}")
    newest = gate.check_runs()[-1]
    assert newest.id > active.id
    assert newest.conclusion == "success"
    assert "gk=" in newest.external_id  # judged under the base's governance key


async def test_a_waiver_written_as_the_re_audit_records_its_verdict_posts_the_newest(
    gate: Gate,
) -> None:
    pull, blocking = await failing(gate, 91)
    active, run = await rerun_started(gate, pull)
    # The re-audit's completion read the ledger before the waiver, and records its verdict just
    # as the waiver is being written (between the App's read of the runs and its ledger write).
    recorded = judged_record(
        report_for(run, findings=[blocking]),
        repo=gate.repo.full_name,
        conclusion="failure",
        head_sha=pull.head_sha,
        governance_key=governance_key_at(gate.repo, gate.repo.head("main") or ""),
        check_run_id=active.id,
    )
    landed: list[bool] = []

    def audit_records_first(request: web.Request) -> bool:
        if request.method == "POST" and request.path.endswith("/git/trees") and not landed:
            landed.append(True)
            record_as_the_app(gate, recorded)
        return False

    gate.fake.inject(audit_records_first, 500, times=-1)
    assert await comment(gate, pull, f"/canon-gate waive {blocking.id} {REASON}") == 200
    assert landed
    newest = gate.check_runs()[-1]
    assert newest.id > active.id
    assert newest.conclusion == "success"
    assert replies(gate, 91)[-1] == f"Waived {blocking.id}: {REASON}. The verdict is now success."


async def test_a_waiver_written_as_the_re_audit_completes_is_applied_by_that_completion(
    gate: Gate,
) -> None:
    pull, blocking = await failing(gate, 92)
    active, run = await rerun_started(gate, pull)
    # The completion reads the ledger, judges "failure", and while it writes its record the
    # waiver command lands: the record then sits on a newer tip than the one judged.
    waiver = Waiver(blocking.id, REASON, "maintainer", datetime.now(UTC), 92, pull.head_sha)
    landed: list[bool] = []

    def waiver_lands_first(request: web.Request) -> bool:
        if request.method == "POST" and request.path.endswith("/git/trees") and not landed:
            landed.append(True)
            record_as_the_app(gate, waiver_record(waiver, repo=gate.repo.full_name))
        return False

    gate.fake.inject(waiver_lands_first, 500, times=-1)
    done = gate.fake.complete_run(
        gate.repo, run.id, "success", artifact(report_for(run, findings=[blocking]))
    )
    assert await gate.deliver("workflow_run", done) == 200
    assert landed
    assert gate.repo.check_runs[active.id].conclusion == "success"
    assert blocking.id in gate.repo.check_runs[active.id].output["summary"]


# How much of the ledger a completion reads.


async def test_a_completion_reads_only_the_newest_audits_of_a_long_pr(gate: Gate) -> None:
    pull = gate.repo.open_pull(90, {"docs/guide.md": "x\n"})
    blocking = finding()
    # A long-lived PR: a waiver a day ago, then 30 audits an hour apart that each waived it.
    start = datetime.now(UTC) - timedelta(days=1)
    waiver = Waiver(blocking.id, REASON, "maintainer", start, 90, "1" * 40)
    audits = [
        judged_record(
            report(blocking, pr=90, head=f"{n:040x}", check_run_id=1000 + n),
            repo=gate.repo.full_name,
            conclusion="success",
            waived=[blocking.id],
            at=start + timedelta(minutes=10 + 30 * n),
        )
        for n in range(30)
    ]
    record_as_the_app(gate, waiver_record(waiver, repo=gate.repo.full_name), *audits)
    gate.fake.calls.clear()
    assert (await audit(gate, pull, [blocking])).conclusion == "success"
    blobs = gate.fake.calls_to("GET", "/repos/{owner}/{repo}/git/blobs/{file_sha}")
    assert len(blobs) == LIFECYCLE_AUDITS + 1  # and the one waiver
    # Only this PR's folder is listed, never the whole ledger's recursive tree.
    assert not any("recursive" in c.query for c in gate.fake.calls)
