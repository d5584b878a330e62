"""SARIF 2.1.0 for code scanning (issue 16, part 2): valid against the pinned OASIS schema, one
run per gate, findings tracked across pushes by their fingerprint, written by the CLI and by the
audit job when the base's config asks for it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft4Validator

from action.entrypoint import main
from action.report import (
    Classification,
    Evidence,
    Finding,
    Kind,
    Location,
    Report,
    RunInfo,
    SuggestedFix,
    Verification,
    Vote,
    fingerprint,
)
from action.sarif import FINGERPRINT, to_sarif
from tests.action.support import OAUTH, NoSession, make_checkouts

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests/fixtures/sarif/sarif-2.1.0.json").read_text())


def finding(line: int, classification: Classification = Classification.SUBSTANTIVE) -> Finding:
    canon = ["klappy://canon/constraints/audit-gates"]
    return Finding(
        id=fingerprint("docs/ci.md", Kind.DRIFT, canon, "a regex decides", "code-sync"),
        classification=classification,
        kind=Kind.DRIFT,
        location=Location(path="docs/ci.md", start_line=line, end_line=line + 1),
        claim='A regex is the gate; "quoted" and <tagged>.',
        evidence=[Evidence(quote="a regex decides", source="docs/ci.md", line=line)],
        canon=canon,
        suggested_fix=SuggestedFix(description="Make the session the gate.", replacement="x"),
    )


def report(*findings: Finding, gate: str = "code-sync") -> Report:
    run = RunInfo(repo="acme/widgets", pr=7, head_sha="d" * 40, gate=gate)
    return Report(run=run, findings=list(findings))


def test_sarif_validates_against_the_schema_with_one_run_per_gate() -> None:
    refuted = finding(9).model_copy(
        update={"verification": Verification(votes=[Vote(verdict="refute", reason="no")] * 3)}
    )
    log = to_sarif(
        [
            report(gate="structure"),
            report(finding(2), finding(5, Classification.COSMETIC), refuted),
            report(gate="gauntlet").model_copy(update={"error": "the session timed out"}),
        ],
        "1.2.3",
    )
    errors = sorted(Draft4Validator(SCHEMA).iter_errors(log), key=str)
    assert not errors, errors[:3]
    code_sync, gauntlet = log["runs"]  # the structural check has no findings: no run
    assert code_sync["automationDetails"]["id"] == "canon-gate/code-sync/"
    assert [r["level"] for r in code_sync["results"]] == ["error", "warning", "note"]
    assert gauntlet["invocations"][0]["executionSuccessful"] is False


def test_a_finding_keeps_its_fingerprint_when_its_lines_move() -> None:
    before = to_sarif([report(finding(2))], "1")["runs"][0]["results"][0]
    after = to_sarif([report(finding(40))], "1")["runs"][0]["results"][0]
    assert before["partialFingerprints"] == after["partialFingerprints"]
    assert before["partialFingerprints"][FINGERPRINT] == finding(2).id
    assert before["locations"] != after["locations"]


def test_the_audit_job_writes_sarif_only_when_the_config_asks(tmp_path: Path) -> None:
    base, _ = make_checkouts(tmp_path)
    out = tmp_path / "sarif/canon-gate.sarif"
    env = {
        "PATH": os.environ["PATH"],
        "GITHUB_WORKSPACE": str(base),
        "CANON_GATE_CONTEXT": json.dumps(
            {"pr": "7", "head_sha": "d" * 40, "base_sha": "b" * 40, "merge_base_sha": "b" * 40}
        ),
        "CANON_GATE_REPORT": str(tmp_path / "report.json"),
        "CANON_GATE_SARIF_FILE": str(out),
        "CLAUDE_CODE_OAUTH_TOKEN": OAUTH,
    }
    (base / ".canon-gate/head/src").mkdir(parents=True)
    assert main(env, NoSession()) == 0  # type: ignore[arg-type]
    assert not out.exists()
    context = json.loads(env["CANON_GATE_CONTEXT"]) | {"sarif": "true"}
    # The session cannot start here (no model): the SARIF says so, and validates.
    assert main({**env, "CANON_GATE_CONTEXT": json.dumps(context)}, NoSession()) == 0  # type: ignore[arg-type]
    log = json.loads(out.read_text())
    assert not list(Draft4Validator(SCHEMA).iter_errors(log))


def test_the_upload_is_auxiliary_and_names_the_pull_requests_head() -> None:
    steps = yaml.safe_load((ROOT / "action/action.yml").read_text())["runs"]["steps"]
    [upload] = [s for s in steps if "upload-sarif" in str(s.get("uses", ""))]
    assert upload["continue-on-error"] is True
    assert upload["uses"].startswith(
        "github/codeql-action/upload-sarif@8aad20d150bbac5944a9f9d289da16a4b0d87c1e"
    )
    assert upload["with"]["ref"] == "refs/pull/${{ steps.context.outputs.pr }}/head"
    assert upload["with"]["sha"] == "${{ steps.context.outputs.head_sha }}"
    assert upload["with"]["category"] == "${{ steps.audit.outputs.artifact }}"
    assert "steps.context.outputs.sarif == 'true'" in upload["if"]


@pytest.mark.parametrize("flag", [["--sarif"], []])
def test_only_init_sarif_grants_security_events_write(tmp_path: Path, flag: list[str]) -> None:
    import subprocess

    from app.cli.main import main as cli

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert cli(["init", "--path", str(tmp_path), *flag]) == 0
    jobs = yaml.safe_load((tmp_path / ".github/workflows/canon-gate.yml").read_text())["jobs"]
    granted = {n for n, j in jobs.items() if "security-events" in j.get("permissions", {})}
    assert granted == ({"first", "later"} if flag else set())
    config = yaml.safe_load((tmp_path / ".github/canon-gate.yml").read_text())
    assert config["sarif"] is bool(flag)
