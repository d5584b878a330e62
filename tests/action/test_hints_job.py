"""The mechanical hints run in a job of their own that never holds the model credential; the
audit job reads their results as data, and never runs a hint itself."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from fakes.anthropic import FakeAnthropic, structured

from action.audit.hints import MAX_OUTPUT, HintsFile, read_results
from action.audit.inputs import AuditInputs
from action.config import Config
from action.entrypoint import main
from action.report import ErrorKind, HintResult, Report
from tests.action.support import (
    OAUTH,
    NoSession,
    audit,
    make_checkouts,
    parent_env,
    run_cli,
    system_text,
    untrusted_blocks,
)

ROOT = Path(__file__).resolve().parents[2]
# A hint that leaves a trace wherever it runs.
HINTS = """\
hints:
  - name: trace
    run: ["sh", "-c", "touch \\"$CANON_GATE_BASE/../hint-ran\\"; echo HINT-4d2a $HOME"]
"""


def job_env(tmp_path: Path, mode: str, **extra: str) -> dict[str, str]:
    base, _ = make_checkouts(tmp_path)
    (base / ".github/canon-gate.yml").write_text(HINTS)
    env = {
        "CANON_GATE_MODE": mode,
        "GITHUB_WORKSPACE": str(base),
        "GITHUB_REPOSITORY": "acme/widgets",
        "GITHUB_RUN_ID": "555",
        "CANON_GATE_PR": "7",
        "CANON_GATE_HEAD_SHA": "h" * 40,
        "CANON_GATE_BASE_SHA": "b" * 40,
        "CANON_GATE_HINTS_FILE": str(tmp_path / "hints/hints.json"),
        "CANON_GATE_REPORT": str(tmp_path / "report.json"),
        "PATH": "/usr/bin:/bin",
    }
    env.update(extra)
    return env


def test_the_hints_job_refuses_to_run_beside_a_model_credential(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY"):
        env = job_env(tmp_path / name, "hints", **{name: OAUTH})
        assert main(env) == 1
        assert capsys.readouterr().err.startswith("canon-gate hints: refusing to run")
        assert not (tmp_path / name / "hint-ran").exists()
        assert not Path(env["CANON_GATE_HINTS_FILE"]).exists()


def test_the_audit_job_never_runs_a_hint(tmp_path: Path) -> None:
    """The audit job holds the credential: without the hints job's results it runs no hint, it
    says the workflow must run them in their own job."""
    env = job_env(tmp_path, "audit", CLAUDE_CODE_OAUTH_TOKEN=OAUTH)
    assert not Path(env["CANON_GATE_HINTS_FILE"]).exists()  # the workflow ran no hints job
    assert main(env, NoSession()) == 0  # type: ignore[arg-type]
    assert not (tmp_path / "hint-ran").exists()
    report = Report.model_validate_json((tmp_path / "report.json").read_text())
    assert report.error_kind is ErrorKind.CONFIG
    assert (report.error or "").startswith("hints are configured (`hints`), but no hints job ran")


def entrypoint(env: dict[str, str]) -> list[str]:
    """The step's command line, with this checkout importable (the Action installs it)."""
    env["PYTHONPATH"] = str(ROOT)
    return [sys.executable, "-P", "-m", "action.entrypoint"]


@pytest.mark.cli
async def test_the_hints_jobs_results_reach_the_audit_jobs_session(
    tmp_path: Path, fake: FakeAnthropic
) -> None:
    hints_env = job_env(tmp_path, "hints", CANON_GATE_MERGE_BASE_SHA="")
    code, out = await run_cli(entrypoint(hints_env), hints_env)
    assert code == 0, out
    assert (tmp_path / "hint-ran").exists()
    written = HintsFile.model_validate_json(Path(hints_env["CANON_GATE_HINTS_FILE"]).read_text())
    assert (written.head_sha, written.base_sha) == ("h" * 40, "b" * 40)
    (tmp_path / "hint-ran").unlink()
    env = {
        **hints_env,
        **parent_env(fake),
        "CANON_GATE_MODE": "audit",
        "CANON_GATE_CHECK_RUN_ID": "99",
    }
    fake.script = [structured({"findings": []})]
    code, out = await run_cli(entrypoint(env), env)
    assert code == 0, out
    assert not (tmp_path / "hint-ran").exists()  # the audit job ran no hint
    report = Report.model_validate_json((tmp_path / "report.json").read_text())
    assert report.error is None, report.error
    assert [(h.name, h.exit_code) for h in report.hints] == [("trace", 0)]
    _, blocks = untrusted_blocks(system_text(fake))
    (body,) = [b for tag, b in blocks if tag.startswith('kind="hint" name="trace"')]
    assert body.startswith(f"HINT-4d2a {tmp_path / 'ws'}")  # run on the base checkout


def hints_for(tmp_path: Path, **fields: object) -> Path:
    data = {
        "head_sha": "h" * 40,
        "base_sha": "b" * 40,
        "merge_base_sha": None,
        "results": [HintResult(name="trace", exit_code=0, output="ok").model_dump()],
        **fields,
    }
    path = tmp_path / "hints.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"head_sha": "e" * 40}, "the hints job ran on other commits than this audit"),
        ({"results": []}, "the hints job's results do not match the configured hints"),
        ({"extra": 1}, "the hints job's results could not be read"),
        ({"results": [{"name": "trace", "output": "x" * 200_000}]}, "the hints job's results"),
    ],
)
async def test_hint_results_not_for_this_audit_are_refused(
    tmp_path: Path, fields: dict[str, object], says: str
) -> None:
    checkouts = make_checkouts(tmp_path)
    (checkouts[0] / ".github/canon-gate.yml").write_text(HINTS)
    async with FakeAnthropic() as fake:
        hints = hints_for(tmp_path, **fields)
        report = await audit(checkouts, fake, harness=NoSession(), hints_file=hints)  # type: ignore[arg-type]
    assert report.status == "not_evaluated"
    assert report.error_kind is ErrorKind.CRASH
    assert (report.error or "").startswith(says), report.error
    assert not (tmp_path / "hint-ran").exists()


def test_the_largest_output_a_hint_can_give_is_read_back(tmp_path: Path) -> None:
    """Every character a control character, JSON-escaped six bytes each: still accepted."""
    output = "\x01" * MAX_OUTPUT + "\n[output truncated]\n"
    path = hints_for(tmp_path, results=[HintResult(name="trace", output=output).model_dump()])
    inputs = AuditInputs(base_dir=tmp_path, head_dir=tmp_path, head_sha="h" * 40, base_sha="b" * 40)
    config = Config.model_validate({"hints": [{"name": "trace", "run": ["true"]}]})
    (result,) = read_results(path, inputs, config)
    assert result.output == output
