"""Canon changes re-judge open pull requests (issue 12, item 3): a push to the default branch that
changes the governance key is found in the delivery log by the background pass, which audits the
newest stale pull requests again, within `max_per_push`, and marks the rest.
"""

from __future__ import annotations

from typing import Any

from appkit import Gate, StartGate, finding

from app.judge.checkrun import CHECK_NAME, STRUCTURE_CHECK_NAME
from app.judge.correlate import parse_external_id
from tests.app.flows.test_merge_queue import audited, configure
from tests.app.flows.test_recovery import reconcile

REAUDIT = "reaudit_on_canon_change: {enabled: true, max_per_push: 2}\n"


def grant_push(gate: Gate) -> None:
    gate.fake.apps[gate.fake.app_id].events = ["merge_group", "push"]


async def push(gate: Gate, files: dict[str, str | None]) -> str:
    before = gate.repo.head("main")
    assert before is not None
    after = gate.repo.commit("main", files, "change main")
    payload = gate.fake.payloads.push(gate.repo, before, after)
    assert await gate.deliver("push", payload) == 200
    return after


def newest_on(gate: Gate, number: int) -> Any:
    head = gate.repo.pulls[number].head_sha
    return max((c for c in gate.check_runs() if c.head_sha == head), key=lambda c: c.id)


async def test_a_canon_change_audits_the_newest_and_marks_the_rest(
    gate: Gate, start_gate: StartGate
) -> None:
    grant_push(gate)
    configure(gate, REAUDIT)
    for number in (201, 202, 203, 204):
        await audited(gate, number)
    await audited(gate, 205, [finding()])  # failed: nothing to re-judge
    sessions = len(gate.repo.runs)
    after = await push(gate, {"canon/new.md": "---\nuri: klappy://canon/new\n---\n# New\n"})
    # The webhook only noted the push: nothing was started within the delivery.
    assert len(gate.repo.runs) == sessions

    await reconcile(gate)
    new = [r for r in gate.repo.runs.values() if r.inputs.get("base_sha") == after]
    assert sorted(r.inputs["pr"] for r in new) == ["203", "204"]  # newest first, at most 2
    for number in (201, 202):
        marked = newest_on(gate, number)
        assert marked.conclusion == "action_required"
        assert marked.output["title"].startswith("Verdict predates a canon change")
        assert [a["identifier"] for a in marked.actions] == ["rerun"]
        head = gate.repo.pulls[number].head_sha
        structure = [c for c in gate.check_runs(STRUCTURE_CHECK_NAME) if c.head_sha == head]
        assert max(structure, key=lambda c: c.id).conclusion == "action_required"
    assert newest_on(gate, 205).conclusion == "failure"
    for number in (203, 204):
        key = parse_external_id(newest_on(gate, number).external_id)
        assert key is not None
        assert key.trigger == f"reaudit-{after[:12]}"

    # Another pass, or another replica with nothing in memory, finds it all done.
    runs, checks = len(gate.repo.runs), len(gate.repo.check_runs)
    await reconcile(gate)
    await reconcile(await start_gate())
    assert (len(gate.repo.runs), len(gate.repo.check_runs)) == (runs, checks)


async def test_a_push_that_changes_no_canon_gives_nothing(gate: Gate) -> None:
    grant_push(gate)
    configure(gate, REAUDIT)
    await audited(gate, 211)
    runs, checks = len(gate.repo.runs), len(gate.repo.check_runs)
    await push(gate, {"README.md": "# Handbook, reworded\n"})
    await reconcile(gate)
    assert (len(gate.repo.runs), len(gate.repo.check_runs)) == (runs, checks)


async def test_with_the_option_off_a_canon_change_starts_nothing(gate: Gate) -> None:
    await audited(gate, 212)
    runs, checks = len(gate.repo.runs), len(gate.repo.check_runs)
    await push(gate, {"canon/new.md": "---\nuri: klappy://canon/new\n---\n# New\n"})
    await reconcile(gate)
    assert (len(gate.repo.runs), len(gate.repo.check_runs)) == (runs, checks)


async def test_the_option_on_an_installation_without_push_asks_for_it_in_the_check(
    gate: Gate,
) -> None:
    configure(gate, REAUDIT)
    pull = gate.repo.open_pull(213, {"docs/guide.md": "# Guide\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload) == 200
    assert not gate.repo.runs  # no session while verdicts could silently go stale
    [check] = gate.check_runs(CHECK_NAME)
    assert check.conclusion == "action_required"
    assert "`push` event" in check.output["summary"]
    assert f"/settings/installations/{gate.repo.installation_id}" in check.output["summary"]
    [structure] = gate.check_runs(STRUCTURE_CHECK_NAME)
    assert structure.conclusion == "action_required"
    # Once granted, Re-run audits it.
    grant_push(gate)
    again = gate.fake.payloads.check_run(gate.repo, check.id, "rerequested", sender="maintainer")
    assert await gate.deliver("check_run", again) == 200
    assert len(gate.runs_for_pr(213)) == 1
