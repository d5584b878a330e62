"""The whole loop: a signed webhook, the App, the fake GitHub, the action's entrypoint run as the
runner would (the real `claude` CLI against the fake model), the artifact, the concluded check
run and the ledger commit."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from appkit import Gate, artifact
from fakes.anthropic import FakeAnthropic, ToolCall, Turn, structured

from action.report import Report
from app.ledger.store import BRANCH

pytestmark = pytest.mark.cli

ROOT = Path(__file__).resolve().parents[2]
OAUTH = "oat01-FAKE-whole-loop-token-0123456789"
GUIDE = "# CI\nThe merge gate is scripts/drift.py: a regex decides whether a PR merges.\n"
BROKEN_CANON = (
    "---\ntitle: New rule\nstatus: someday\nsupersedes: klappy://canon/nowhere\n---\nText\n"
)


def materialise(gate: Gate, sha: str, root: Path, *, git: bool = False) -> None:
    """Check out a commit of the fake repository, as actions/checkout would.

    With `git`, the files are committed in a repository there, as actions/checkout leaves the
    base: its trees have the same ids as the fake's, so the runner reads the same governance key.
    """
    for path, blob in gate.repo.store.files_at(sha).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob if isinstance(blob, bytes) else blob.encode())
    if git:
        identity = ["-c", "user.name=runner", "-c", "user.email=runner@example.com"]
        for args in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-qm", "base"]):
            subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


async def run_action(gate: Gate, run: Any, workspace: Path, model: FakeAnthropic) -> Report:
    """Do what the workflow does: two checkouts, then `python -m action.entrypoint` with env."""
    inputs = run.inputs
    # The workflow's first step asks GitHub for the merge-base (compare API), then checks out
    # the base tip (it governs), the PR head (data) and the merge-base (what the PR changed from).
    token = gate.fake.installation_token(gate.repo.installation_id)
    compare = f"{gate.fake.base_url}/repos/{gate.repo.full_name}/compare/"
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            compare + f"{inputs['base_sha']}...{inputs['head_sha']}",
            headers={"Authorization": f"token {token}"},
        ) as response,
    ):
        merge_base = (await response.json())["merge_base_commit"]["sha"]
    materialise(gate, inputs["base_sha"], workspace, git=True)
    materialise(gate, inputs["head_sha"], workspace / ".canon-gate" / "head")
    materialise(gate, merge_base, workspace / ".canon-gate" / "merge-base")
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),  # the action as installed from its own repository
        "HOME": str(workspace.parent / "home"),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": gate.repo.full_name,
        "GITHUB_RUN_ID": str(run.id),
        "GITHUB_STEP_SUMMARY": str(workspace.parent / "summary.md"),
        "GITHUB_TOKEN": "ghs_runner_token_that_must_not_leak_0123456789",
        "CANON_GATE_PR": inputs["pr"],
        "CANON_GATE_HEAD_SHA": inputs["head_sha"],
        "CANON_GATE_BASE_SHA": inputs["base_sha"],
        "CANON_GATE_CHECK_RUN_ID": inputs["check_run_id"],
        "CANON_GATE_HEAD_PATH": ".canon-gate/head",
        "CANON_GATE_MERGE_BASE_SHA": merge_base,
        "CANON_GATE_MERGE_BASE_PATH": ".canon-gate/merge-base",
        "CANON_GATE_APPROVED": inputs.get("approved", "false"),
        "CANON_GATE_REPORT": str(workspace.parent / "report.json"),
        "CLAUDE_CODE_OAUTH_TOKEN": OAUTH,
        "ANTHROPIC_BASE_URL": model.url,
    }
    # A client repository may have an `action/` package of its own: it must never shadow ours.
    planted = workspace / "action"
    planted.mkdir(exist_ok=True)
    (planted / "__init__.py").write_text(f"open({str(workspace.parent / 'pwned')!r}, 'w')\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-P", "-m", "action.entrypoint", cwd=workspace, env=env
    )  # exactly as action/action.yml runs it
    assert await asyncio.wait_for(process.wait(), 120) == 0
    assert not (workspace.parent / "pwned").exists()
    summary = (workspace.parent / "summary.md").read_text()
    assert "canon-gate" in summary
    return Report.model_validate_json((workspace.parent / "report.json").read_text())


async def test_webhook_to_concluded_check_run_and_ledger_commit(gate: Gate, tmp_path: Path) -> None:
    pull = gate.repo.open_pull(
        60, {"docs/ci.md": GUIDE, "canon/new-rule.md": BROKEN_CANON}, user="contributor"
    )
    # The base moves on after the PR branched: that change is not the PR's to answer for.
    gate.repo.commit("main", {"docs/landed.md": "Landed on main after the PR branched.\n"})
    assert (
        await gate.deliver(
            "pull_request", gate.fake.payloads.pull_request(gate.repo, pull, "opened")
        )
        == 200
    )
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)

    finding = {
        "classification": "substantive",
        "kind": "contradiction",
        "path": "docs/ci.md",
        "start_line": 2,
        "end_line": 2,
        "claim": "The guide makes a regex script the merge gate; the canon forbids it.",
        "evidence": [
            {"quote": "a regex decides whether a PR merges", "source": "docs/ci.md"},
            {
                "quote": "The gate is a spawned agent session that fetches canon at runtime.",
                "source": "klappy://canon/constraints/audit-gates",
            },
        ],
        "canon": ["klappy://canon/constraints/audit-gates"],
        "suggested_fix": {"description": "Describe the session as the gate."},
    }
    script = [
        Turn(tool_calls=[ToolCall("mcp__canon_gate__canon_search", {"query": "merge gate"})]),
        structured({"findings": [finding], "summary": "one contradiction"}),
    ]
    async with FakeAnthropic(script) as model:
        report = await run_action(gate, run, tmp_path / "ws", model)
        bodies = [json.dumps(r.body) for r in model.message_requests]
        headers = [r.headers for r in model.message_requests]
    assert report.error is None, report.error
    assert [f.kind.value for f in report.findings] == ["contradiction"]
    assert report.structure, "the broken canon file must be reported structurally"
    assert not any("ghs_runner_token" in body for body in bodies)
    assert "docs/landed.md" not in bodies[0]  # the diff starts at the merge-base
    assert report.run.merge_base_sha is not None
    assert all(h.get("Authorization", "").startswith("Bearer ") for h in headers)

    done = gate.fake.complete_run(gate.repo, run.id, "success", artifact(report))
    assert await gate.deliver("workflow_run", done) == 200
    concluded = gate.repo.check_runs[check.id]
    assert concluded.conclusion == "failure"
    assert concluded.annotations[0]["path"] == "docs/ci.md"
    assert report.findings[0].id in concluded.output["summary"]
    [structure] = gate.check_runs("canon-gate/structure")
    assert structure.conclusion == "failure"
    assert {a["path"] for a in structure.annotations} == {"canon/new-rule.md"}
    ledger = gate.repo.store.files_at(gate.repo.head(BRANCH))
    [record] = [p for p in ledger if p.startswith("prs/60/audits/")]
    assert json.loads(ledger[record])["report"]["findings"][0]["id"] == report.findings[0].id
