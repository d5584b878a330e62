"""Several gates through the front door (issue 13): each gate its own check run, concluded from
its own job's report; `canon-gate` their aggregate; a need that fails stops the paid gate after
it, which runs by itself once the need passes; waivers, re-runs and the ledger per gate.
"""

from __future__ import annotations

from typing import Any

from appkit import Gate, artifact, finding, report_for

from action.report import ErrorKind, Report, StructureProblem, artifact_name
from app.judge.checkrun import CHECK_NAME, STRUCTURE_CHECK_NAME
from app.judge.correlate import parse_external_id
from tests.app.flows.test_governance import comment, ledger_files, replies

GATES = """\
canon:
  paths: [canon]
gates:
  - name: code-sync
    persona: [canon/personas/code-auditor.md]
    paths: ["src/**", "canon/**"]
    needs: [structure]
  - name: gauntlet
    persona: [canon/personas/gauntlet.md]
    paths: ["canon/**", "docs/**"]
    needs: [code-sync]
"""
REASON = "the guide describes the old release on purpose"
JOBS_OK = {"plan": "success", "gate code-sync": "success", "gate gauntlet": "success"}


def configure(gate: Gate) -> None:
    gate.repo.commit("main", {".github/canon-gate.yml": GATES}, "gates")


def named(gate: Gate, name: str) -> list[Any]:
    return gate.check_runs(name)


def newest(gate: Gate, name: str) -> Any:
    return max(named(gate, name), key=lambda c: c.id)


async def opened(gate: Gate, number: int, files: dict[str, str] | None = None) -> tuple[Any, Any]:
    """Open a PR; return it and the one workflow run dispatched for it."""
    pull = gate.repo.open_pull(number, files or {"docs/guide.md": "x\n", "src/app.py": "y\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload) == 200
    [anchor] = named(gate, CHECK_NAME)
    [run] = gate.runs_for(anchor.id)
    return pull, run


def needs_failed(run: Any, gate: str, need: str) -> Report:
    failed = report_for(run, gate=gate, error=f"`{need}` failed; fix that first")
    return failed.model_copy(update={"error_kind": ErrorKind.NEEDS})


def structure(run: Any, *problems: StructureProblem) -> Report:
    return report_for(run, gate="structure").model_copy(update={"structure": list(problems)})


async def finish(
    gate: Gate, run: Any, reports: dict[str, Report], jobs: dict[str, str] | None = None
) -> None:
    zips = {artifact_name(name): artifact(r) for name, r in reports.items()}
    conclusion = "success" if all(c == "success" for c in (jobs or JOBS_OK).values()) else "failure"
    done = gate.fake.complete_run(
        gate.repo, run.id, conclusion, artifacts=zips, jobs=jobs or JOBS_OK
    )
    assert await gate.deliver("workflow_run", done) == 200


async def test_each_gate_is_its_own_check_and_canon_gate_their_aggregate(gate: Gate) -> None:
    configure(gate)
    pull, run = await opened(gate, 130)
    # One dispatch runs every gate; each gate's check run waits from the start.
    assert not run.inputs["gate"]
    for name in ("canon-gate/code-sync", "canon-gate/gauntlet"):
        [waiting] = named(gate, name)
        assert waiting.status == "in_progress"
        key = parse_external_id(waiting.external_id)
        assert key is not None
        assert (key.gate, key.check) == (name.split("/")[1], named(gate, CHECK_NAME)[0].id)
    blocking = finding(path="src/app.py")
    await finish(
        gate,
        run,
        {
            "structure": structure(run),
            "code-sync": report_for(run, gate="code-sync", findings=[blocking]),
            "gauntlet": needs_failed(run, "gauntlet", "code-sync"),
        },
    )
    assert newest(gate, "canon-gate/code-sync").conclusion == "failure"
    # The paid gate after it started no session: it says why, and that it waits.
    waiting = newest(gate, "canon-gate/gauntlet")
    assert waiting.conclusion == "action_required", waiting.output
    assert waiting.output["title"] == "Not run: `code-sync` failed; fix that first"
    assert newest(gate, STRUCTURE_CHECK_NAME).conclusion == "success"
    aggregate = newest(gate, CHECK_NAME)
    assert aggregate.conclusion == "failure"
    assert aggregate.output["title"] == "1 gate failed: code-sync"
    assert "canon-gate/gauntlet" in aggregate.output["summary"]
    assert not gate.repo.check_runs[aggregate.id].annotations  # no annotations of its own
    # The ledger holds a record per gate.
    audits = [v for p, v in ledger_files(gate).items() if p.startswith("prs/130/audits/")]
    assert sorted(a["report"]["run"]["gate"] for a in audits) == ["code-sync", "gauntlet"]

    # A waiver of the gate's finding passes that gate; the gate that needed it starts by itself.
    assert await comment(gate, pull, f"/canon-gate waive {blocking.id} {REASON}") == 200
    assert newest(gate, "canon-gate/code-sync").conclusion == "success"
    assert replies(gate, 130)[-1].startswith(f"Waived {blocking.id}")
    # The waiver's aggregate (gauntlet still not run), then the re-run of gauntlet alone.
    *_, after_waiver, rerun_anchor = sorted(named(gate, CHECK_NAME), key=lambda c: c.id)
    assert after_waiver.conclusion == "action_required"
    assert rerun_anchor.status == "in_progress"
    assert newest(gate, "canon-gate/gauntlet").status == "in_progress"
    [again] = [r for r in gate.repo.runs.values() if r.inputs.get("gate") == "gauntlet"]
    await finish(
        gate,
        again,
        {"gauntlet": report_for(again, gate="gauntlet")},
        jobs={"plan": "success", "gate gauntlet": "success"},
    )
    assert newest(gate, "canon-gate/gauntlet").conclusion == "success"
    # The aggregate reads each gate's newest verdict: code-sync's waived one, and gauntlet's.
    assert newest(gate, CHECK_NAME).conclusion == "success"
    assert newest(gate, "canon-gate/code-sync").conclusion == "success"


async def test_gates_out_of_scope_are_neutral_and_start_no_session(gate: Gate) -> None:
    configure(gate)
    _, run = await opened(gate, 131, {"README.md": "hello\n"})
    skipped = {
        name: report_for(run, gate=name).model_copy(update={"out_of_scope": True})
        for name in ("code-sync", "gauntlet")
    }
    # Each gate's own job found the change out of its scope and started no session.
    await finish(gate, run, {"structure": structure(run), **skipped})
    for name in ("canon-gate/code-sync", "canon-gate/gauntlet"):
        assert newest(gate, name).conclusion == "neutral"
        assert newest(gate, name).output["title"].startswith("Not in scope")
    aggregate = newest(gate, CHECK_NAME)
    assert (aggregate.conclusion, aggregate.output["title"]) == (
        "neutral",
        "No gate is in scope for this change",
    )


async def test_only_a_gates_own_job_may_judge_it(gate: Gate) -> None:
    configure(gate)
    _, run = await opened(gate, 132)
    clean = report_for(run, gate="code-sync")
    await finish(
        gate,
        run,
        {
            "structure": structure(run),
            "code-sync": clean,
            "gauntlet": report_for(run, gate="gauntlet"),
        },
        # code-sync's job failed after a clean report was uploaded; gauntlet's has no job at all
        # (another job uploaded its report): neither may judge.
        jobs={"plan": "success", "gate code-sync": "failure"},
    )
    code_sync = newest(gate, "canon-gate/code-sync")
    assert code_sync.conclusion == "failure"
    assert (
        code_sync.output["title"] == "Not evaluated: the audit job failed before it wrote a report"
    )
    gauntlet = newest(gate, "canon-gate/gauntlet")
    assert gauntlet.conclusion == "failure"
    assert "has no job for `canon-gate/gauntlet`" in gauntlet.output["title"]
    assert newest(gate, CHECK_NAME).conclusion == "failure"


async def test_a_report_for_another_gate_never_judges_this_one(gate: Gate) -> None:
    configure(gate)
    _, run = await opened(gate, 133)
    clean = report_for(run, gate="code-sync")
    await finish(gate, run, {"structure": structure(run), "code-sync": clean, "gauntlet": clean})
    assert newest(gate, "canon-gate/code-sync").conclusion == "success"
    gauntlet = newest(gate, "canon-gate/gauntlet")
    assert gauntlet.conclusion == "failure"
    assert "is for gate `code-sync`, not `gauntlet`" in gauntlet.output["title"]


async def test_a_structural_failure_stops_the_paid_gate_and_is_its_own_check(gate: Gate) -> None:
    configure(gate)
    _, run = await opened(gate, 134, {"canon/rules.md": "no frontmatter\n"})
    problem = StructureProblem(path="canon/rules.md", rule="frontmatter", message="missing")
    await finish(
        gate,
        run,
        {
            "structure": structure(run, problem),
            "code-sync": needs_failed(run, "code-sync", "structure"),
            "gauntlet": needs_failed(run, "gauntlet", "code-sync"),
        },
    )
    assert newest(gate, STRUCTURE_CHECK_NAME).conclusion == "failure"
    for name in ("canon-gate/code-sync", "canon-gate/gauntlet"):
        assert newest(gate, name).conclusion == "action_required"
    assert newest(gate, CHECK_NAME).conclusion == "action_required"
    # Nothing passed, so nothing starts by itself.
    assert len(gate.repo.runs) == 1


async def test_re_running_one_gate_runs_only_that_gate(gate: Gate) -> None:
    configure(gate)
    pull, run = await opened(gate, 135)
    await finish(
        gate,
        run,
        {
            "structure": structure(run),
            "code-sync": report_for(run, gate="code-sync"),
            "gauntlet": report_for(run, gate="gauntlet", findings=[finding()]),
        },
    )
    assert newest(gate, CHECK_NAME).conclusion == "failure"
    first_code_sync = newest(gate, "canon-gate/code-sync")
    failed = newest(gate, "canon-gate/gauntlet")
    payload = gate.fake.payloads.check_run(gate.repo, failed.id, "rerequested")
    assert await gate.deliver("check_run", payload) == 200
    [again] = [r for r in gate.repo.runs.values() if r.id != run.id]
    assert again.inputs["gate"] == "gauntlet"
    await finish(
        gate,
        again,
        {"gauntlet": report_for(again, gate="gauntlet")},
        jobs={"plan": "success", "gate gauntlet": "success"},
    )
    # code-sync was not run again; its verdict still counts in the aggregate.
    assert newest(gate, "canon-gate/code-sync").id == first_code_sync.id
    assert newest(gate, "canon-gate/gauntlet").conclusion == "success"
    assert newest(gate, CHECK_NAME).conclusion == "success"
    assert pull.number == 135
