"""Several gates on the data plane (issue 13), through the entrypoint the action runs, with the
real bundled CLI against the fake model: the plan job's structural check and waves, each gate's
job with its persona, scope and needs, and the report each uploads.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
from fakes.anthropic import FakeAnthropic, structured

from action.entrypoint import main
from action.report import ErrorKind, Report, artifact_name
from tests.action.support import (
    GOVERNING,
    OAUTH,
    RETIRED,
    VODKA,
    NoSession,
    json_out,
    run_cli,
    system_text,
    write_tree,
)

AUDITOR_V1 = """\
---
uri: klappy://canon/personas/code-auditor-v1
title: Code auditor (first draft)
status: superseded
superseded_by: klappy://canon/personas/code-auditor
---

You audit style. NEVER-SEEN-RETIRED-PERSONA.
"""
AUDITOR = """\
---
uri: klappy://canon/personas/code-auditor
title: Code auditor
status: active
supersedes: klappy://canon/personas/code-auditor-v1
---

You audit the change against the canon's constraints on how audits are run.
PERSONA-MARK-CODE-SYNC.
"""
GAUNTLET = """\
---
uri: klappy://canon/personas/gauntlet
title: Gauntlet
status: active
---

You read governance markdown for contradictions. PERSONA-MARK-GAUNTLET.
"""
CONFIG = """\
gates:
  - name: code-sync
    persona: [klappy://canon/personas/code-auditor-v1]
    paths: ["src/**", "docs/**"]
    limits: {max_turns: 6, wall_time_seconds: 30}
    needs: [structure]
  - name: gauntlet
    persona: [klappy://canon/personas/gauntlet]
    paths: ["canon/**"]
    needs: [code-sync]
"""
FINDING = {
    "classification": "substantive",
    "kind": "contradiction",
    "path": "docs/ci.md",
    "start_line": 2,
    "claim": "The guide makes a regex the gate.",
    "evidence": [{"quote": "a regex decides", "source": "docs/ci.md"}],
}


def workspace(tmp_path: Path, head_changes: dict[str, str], config: str = CONFIG) -> Path:
    """The action's layout: base at the root, the PR head and merge-base nested as data."""
    base = tmp_path / "ws"
    files = {
        "canon/constraints/audit-gates-are-spawned-agent-sessions.md": GOVERNING,
        "canon/constraints/audit-gates-are-managed-agents.md": RETIRED,
        "canon/principles/vodka-architecture.md": VODKA,
        "canon/personas/code-auditor-v1.md": AUDITOR_V1,
        "canon/personas/code-auditor.md": AUDITOR,
        "canon/personas/gauntlet.md": GAUNTLET,
        "docs/ci.md": "# CI gate\nThe gate is a spawned session.\n",
        ".github/canon-gate.yml": config,
    }
    write_tree(base, files)
    write_tree(base / ".canon-gate/merge-base", files)
    write_tree(base / ".canon-gate/head", {**files, **head_changes})
    return base


def context(**extra: str) -> str:
    return json.dumps(
        {
            "pr": "7",
            "head_sha": "d" * 40,
            "base_sha": "b" * 40,
            "merge_base_sha": "e" * 40,
            "base_ref": "main",
            "is_fork": "false",
            "check_run_id": "99",
            "approved": "false",
            "group": "",
            "gate": "",
            **extra,
        }
    )


def step_env(tmp_path: Path, base: Path, mode: str, **extra: str) -> dict[str, str]:
    tag = re.sub(r"\W", "_", f"{mode}-{extra.get('CANON_GATE_GATE', '')}")
    out = tmp_path / f"output-{tag}"
    out.write_text("")
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "GITHUB_WORKSPACE": str(base),
        "GITHUB_REPOSITORY": "acme/widgets",
        "GITHUB_RUN_ID": "555",
        "GITHUB_OUTPUT": str(out),
        "CANON_GATE_MODE": mode,
        "CANON_GATE_CONTEXT": context(),
        "CANON_GATE_CALLER_VERSION": "2",
        "CANON_GATE_REPORT": str(tmp_path / f"{tag}.json"),
        **extra,
    }


def outputs(env: dict[str, str]) -> dict[str, str]:
    text = Path(env["GITHUB_OUTPUT"]).read_text()
    return dict(line.split("=", 1) for line in text.splitlines())


def report_of(env: dict[str, str]) -> Report:
    return Report.model_validate_json(Path(env["CANON_GATE_REPORT"]).read_text())


def upload(needs: Path, env: dict[str, str], gate: str) -> None:
    """What upload-artifact then download-artifact (pattern, one folder each) leave behind."""
    folder = needs / artifact_name(gate)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(env["CANON_GATE_REPORT"], folder / "report.json")


def test_the_plan_runs_the_structural_check_and_orders_the_gates(tmp_path: Path) -> None:
    base = workspace(tmp_path, {"docs/ci.md": "# CI gate\nA regex decides.\n"})
    env = step_env(tmp_path, base, "plan")
    assert main(env, NoSession()) == 0  # type: ignore[arg-type]
    said = outputs(env)
    assert (json.loads(said["first"]), json.loads(said["later"]), said["hints"]) == (
        ["code-sync"],
        ["gauntlet"],
        "false",
    )
    assert json.loads(said["context"])["hints"] == "false"
    structure = report_of(env)
    assert (structure.run.gate, structure.run.caller_version) == ("structure", 2)
    assert structure.structure is None  # no canon changed: nothing for the check to read
    # A re-run of one gate plans that gate alone, in the first wave.
    again = step_env(tmp_path, base, "plan", CANON_GATE_CONTEXT=context(gate="gauntlet"))
    assert main(again, NoSession()) == 0  # type: ignore[arg-type]
    assert (json.loads(outputs(again)["first"]), json.loads(outputs(again)["later"])) == (
        ["gauntlet"],
        [],
    )


async def test_each_gate_runs_with_its_persona_scope_and_needs(tmp_path: Path) -> None:
    # The change touches both gates' paths: docs (code-sync) and a canon document (gauntlet).
    base = workspace(
        tmp_path,
        {
            "docs/ci.md": "# CI gate\nThe merge: a regex decides.\n",
            "canon/principles/vodka-architecture.md": VODKA + "\nOne more sentence.\n",
        },
    )
    needs = tmp_path / "needs"
    plan = step_env(tmp_path, base, "plan")
    assert await asyncio.to_thread(main, plan, NoSession()) == 0  # type: ignore[arg-type]
    upload(needs, plan, "structure")

    async with FakeAnthropic([structured({"findings": [FINDING]})]) as fake:
        code_sync = step_env(
            tmp_path,
            base,
            "audit",
            CANON_GATE_GATE="code-sync",
            CANON_GATE_NEEDS_DIR=str(needs),
            CLAUDE_CODE_OAUTH_TOKEN=OAUTH,
            ANTHROPIC_BASE_URL=fake.url,
        )
        assert await asyncio.to_thread(main, code_sync) == 0
        system = system_text(fake)
    report = report_of(code_sync)
    assert outputs(code_sync)["artifact"] == "canon-gate-report-code-sync"
    assert (report.run.gate, report.status) == ("code-sync", "fail")
    # The persona named a superseded draft: the document in force is the gate's task.
    assert "PERSONA-MARK-CODE-SYNC" in system
    assert "NEVER-SEEN-RETIRED-PERSONA" not in system
    assert [(p.uri, p.commit) for p in report.run.persona] == [
        ("klappy://canon/personas/code-auditor", "b" * 40)
    ]
    # The gate's own limits bound its session; its name is part of each finding's id.
    from action.report import fingerprint

    [found] = report.findings
    default_id = fingerprint(found.location.path, found.kind, found.canon, found.evidence[0].quote)
    assert found.id != default_id
    upload(needs, code_sync, "code-sync")

    # gauntlet needs code-sync, which failed: no session (NoSession would raise).
    gauntlet = step_env(
        tmp_path,
        base,
        "audit",
        CANON_GATE_GATE="gauntlet",
        CANON_GATE_NEEDS_DIR=str(needs),
        CLAUDE_CODE_OAUTH_TOKEN=OAUTH,
    )
    assert await asyncio.to_thread(main, gauntlet, NoSession()) == 0  # type: ignore[arg-type]
    waiting = report_of(gauntlet)
    assert waiting.error_kind is ErrorKind.NEEDS
    assert waiting.error == "`code-sync` failed; fix that first"
    # Re-run alone (the App started it once code-sync passed, by a waiver): its gate need is
    # the App's to judge, so its session runs.
    async with FakeAnthropic([structured({"findings": []})]) as fake:
        alone = step_env(
            tmp_path,
            base,
            "audit",
            CANON_GATE_GATE="gauntlet",
            CANON_GATE_NEEDS_DIR=str(needs),
            CANON_GATE_CONTEXT=context(gate="gauntlet"),
            CLAUDE_CODE_OAUTH_TOKEN=OAUTH,
            ANTHROPIC_BASE_URL=fake.url,
        )
        assert await asyncio.to_thread(main, alone) == 0
        assert "PERSONA-MARK-GAUNTLET" in system_text(fake)
    ran = report_of(alone)
    assert (ran.run.gate, ran.status) == ("gauntlet", "pass")


def test_a_gate_out_of_its_scope_needs_nothing(tmp_path: Path) -> None:
    """Out of its paths a gate starts no session whatever its needs did: neutral, not waiting."""
    base = workspace(tmp_path, {"docs/ci.md": "changed\n"})
    gauntlet = step_env(
        tmp_path, base, "audit", CANON_GATE_GATE="gauntlet", CLAUDE_CODE_OAUTH_TOKEN=OAUTH
    )
    gauntlet["CANON_GATE_NEEDS_DIR"] = str(tmp_path / "no-needs-here")
    assert main(gauntlet, NoSession()) == 0  # type: ignore[arg-type]
    skipped = report_of(gauntlet)
    assert (skipped.out_of_scope, skipped.error, skipped.status) == (True, None, "pass")


def test_a_structural_failure_stops_the_paid_gate(tmp_path: Path) -> None:
    broken = "---\ntitle: No uri or status\n---\n\nA rule.\n"
    base = workspace(tmp_path, {"canon/rules/new-rule.md": broken, "docs/ci.md": "changed\n"})
    needs = tmp_path / "needs"
    plan = step_env(tmp_path, base, "plan")
    assert main(plan, NoSession()) == 0  # type: ignore[arg-type]
    structure = report_of(plan)
    assert structure.structure
    assert {p.path for p in structure.structure} == {"canon/rules/new-rule.md"}
    upload(needs, plan, "structure")
    gate = step_env(
        tmp_path,
        base,
        "audit",
        CANON_GATE_GATE="code-sync",
        CANON_GATE_NEEDS_DIR=str(needs),
        CLAUDE_CODE_OAUTH_TOKEN=OAUTH,
    )
    assert main(gate, NoSession()) == 0  # type: ignore[arg-type]
    stopped = report_of(gate)
    assert stopped.error_kind is ErrorKind.NEEDS
    assert stopped.error is not None
    assert stopped.error.startswith("`structure` failed (")


@pytest.mark.parametrize(
    ("config", "says"),
    [
        (CONFIG.replace("needs: [code-sync]", "needs: [gauntlet]"), "needs itself"),
        (CONFIG.replace("name: gauntlet", "name: code-sync"), "two gates are named `code-sync`"),
        (CONFIG.replace("name: gauntlet", "name: structure"), "reserved"),
    ],
)
def test_an_invalid_gate_config_is_a_config_error_never_a_pass(
    tmp_path: Path, config: str, says: str
) -> None:
    base = workspace(tmp_path, {"docs/ci.md": "changed\n"}, config)
    plan = step_env(tmp_path, base, "plan")
    assert main(plan, NoSession()) == 0  # type: ignore[arg-type]
    # One job, which reports the config (the App reads it as the defaults: one gate).
    assert json.loads(outputs(plan)["first"]) == ["canon-gate"]
    gate = step_env(tmp_path, base, "audit", CLAUDE_CODE_OAUTH_TOKEN=OAUTH)
    assert main(gate, NoSession()) == 0  # type: ignore[arg-type]
    report = report_of(gate)
    assert report.error_kind is ErrorKind.CONFIG
    assert says in (report.error or "")


def test_a_persona_that_names_no_document_is_a_config_error(tmp_path: Path) -> None:
    config = CONFIG.replace("klappy://canon/personas/gauntlet", "klappy://canon/personas/nobody")
    base = workspace(tmp_path, {"canon/personas/gauntlet.md": GAUNTLET + "More.\n"}, config)
    gate = step_env(
        tmp_path,
        base,
        "audit",
        CANON_GATE_GATE="gauntlet",
        CLAUDE_CODE_OAUTH_TOKEN=OAUTH,
        CANON_GATE_CONTEXT=context(gate="gauntlet"),
    )
    assert main(gate, NoSession()) == 0  # type: ignore[arg-type]
    report = report_of(gate)
    assert report.error_kind is ErrorKind.CONFIG
    assert "klappy://canon/personas/nobody" in (report.error or "")


def test_a_gate_name_that_is_no_name_never_becomes_an_artifact(tmp_path: Path) -> None:
    base = workspace(tmp_path, {"docs/ci.md": "changed\n"})
    env = step_env(
        tmp_path, base, "audit", CANON_GATE_GATE="../../x", CLAUDE_CODE_OAUTH_TOKEN=OAUTH
    )
    assert main(env, NoSession()) == 1  # type: ignore[arg-type]
    assert not Path(env["CANON_GATE_REPORT"]).exists()


@pytest.mark.cli
async def test_canon_gate_audit_runs_the_structural_check_then_every_gate(tmp_path: Path) -> None:
    """The installed command, as a user runs it: the waves, the needs, one exit status."""
    repo = tmp_path / "repo"
    base = workspace(tmp_path / "src", {})
    write_tree(
        repo,
        {
            p.relative_to(base).as_posix(): p.read_text()
            for p in base.rglob("*")
            if p.is_file() and ".canon-gate" not in p.parts
        },
    )

    def git(*args: str) -> None:
        who = ["-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run(["git", "-C", str(repo), *who, *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "base")
    git("checkout", "-qb", "feature")
    (repo / "docs/ci.md").write_text("# CI gate\nThe merge: a regex decides.\n")
    git("commit", "-qam", "change")
    command = Path(sysconfig.get_path("scripts")) / "canon-gate"
    async with FakeAnthropic([structured({"findings": [FINDING]})]) as fake:
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/root"),
            "CLAUDE_CODE_OAUTH_TOKEN": OAUTH,
            "ANTHROPIC_BASE_URL": fake.url,
        }
        argv = [str(command), "audit", "--base", "main", "--head", "feature", "--json"]
        status, out = await run_cli([*argv, "-C", str(repo)], env)
        assert len(fake.message_requests) >= 1  # one session: code-sync's
    assert status == 1, out
    reports = [Report.model_validate(r) for r in json_out(out)["reports"]]
    assert [r.run.gate for r in reports] == ["structure", "code-sync", "gauntlet"]
    # gauntlet's paths (canon/**) are not touched: out of scope, whatever code-sync found.
    assert [r.status for r in reports[1:]] == ["fail", "pass"]
    assert reports[2].out_of_scope
    # One gate alone: its gate need is not run, so not checked; out of its scope, no session.
    status, out = await run_cli(
        [
            str(command),
            "audit",
            "--base",
            "main",
            "--head",
            "feature",
            "--gate",
            "gauntlet",
            "--json",
            "-C",
            str(repo),
        ],
        {**env, "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"},
    )
    assert status == 0, out
    alone = [Report.model_validate(r) for r in json_out(out)["reports"]]
    assert [(r.run.gate, r.out_of_scope) for r in alone] == [
        ("structure", False),
        ("gauntlet", True),
    ]
    # The same, as SARIF for code scanning: one run, the gate's, with nothing found.
    status, out = await run_cli(
        [
            str(command),
            "audit",
            "--base",
            "main",
            "--head",
            "feature",
            "--gate",
            "gauntlet",
            "--format",
            "sarif",
            "-C",
            str(repo),
        ],
        {**env, "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"},
    )
    assert status == 0, out
    log = json_out(out)
    assert log["version"] == "2.1.0"
    assert [(r["automationDetails"]["id"], r["results"]) for r in log["runs"]] == [
        ("canon-gate/gauntlet/", [])
    ]
