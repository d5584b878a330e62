"""The Action's entrypoint and `canon-gate audit`: reports are written whatever happens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.anthropic import FakeAnthropic, structured

from action.entrypoint import main
from action.report import ErrorKind, Report
from tests.action.support import (
    OAUTH,
    NoSession,
    json_out,
    make_checkouts,
    run_cli,
    write_tree,
)

ROOT = Path(__file__).resolve().parents[2]


def step_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    base, _ = make_checkouts(tmp_path)
    env = {
        "GITHUB_WORKSPACE": str(base),
        "GITHUB_REPOSITORY": "acme/widgets",
        "GITHUB_RUN_ID": "555",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "CANON_GATE_PR": "7",
        "CANON_GATE_HEAD_SHA": "h" * 40,
        "CANON_GATE_REPORT": str(tmp_path / "report.json"),
        "PATH": os.environ["PATH"],
    }
    env.update(extra)
    return env


def read(tmp_path: Path) -> Report:
    return Report.model_validate_json((tmp_path / "report.json").read_text())


def test_no_credentials_writes_not_evaluated(tmp_path: Path) -> None:
    env = step_env(tmp_path)
    assert main(env, NoSession()) == 0  # type: ignore[arg-type]
    report = read(tmp_path)
    assert report.status == "not_evaluated"
    assert "no model credential" in (report.error or "")
    assert report.error_kind is ErrorKind.NO_CREDENTIALS
    assert (report.run.pr, report.run.workflow_run_id, report.run.repo) == (7, 555, "acme/widgets")
    assert "canon-gate: not evaluated" in (tmp_path / "summary.md").read_text()


def test_fork_waits_for_a_maintainer(tmp_path: Path) -> None:
    env = step_env(tmp_path, CANON_GATE_IS_FORK="true", CLAUDE_CODE_OAUTH_TOKEN=OAUTH)
    assert main(env, NoSession()) == 0  # type: ignore[arg-type]
    assert "awaiting a maintainer" in (read(tmp_path).error or "")
    assert read(tmp_path).error_kind is ErrorKind.AWAITING_APPROVAL


def test_broken_config_is_reported(tmp_path: Path) -> None:
    env = step_env(tmp_path, CLAUDE_CODE_OAUTH_TOKEN=OAUTH)
    Path(env["GITHUB_WORKSPACE"], ".github/canon-gate.yml").write_text("limits:\n  bogus: 1\n")
    assert main(env, NoSession()) == 0  # type: ignore[arg-type]
    assert "line 2: `limits.bogus`" in (read(tmp_path).error or "")
    assert read(tmp_path).error_kind is ErrorKind.CONFIG


@pytest.mark.cli
async def test_canon_gate_audit_on_a_local_repo(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    base, head = make_checkouts(tmp_path / "src")
    write_tree(
        repo,
        {
            p.relative_to(base).as_posix(): p.read_text()
            for p in base.rglob("*")
            if p.is_file() and ".canon-gate" not in p.parts
        },
    )

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "base", "--allow-empty")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    git("checkout", "-qb", "feature")
    (repo / "docs/ci.md").write_text((head / "docs/ci.md").read_text())
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "change")
    finding = {
        "classification": "substantive",
        "kind": "contradiction",
        "path": "docs/ci.md",
        "start_line": 2,
        "claim": "regex gate",
        "evidence": [{"quote": "a regex decides", "source": "docs/ci.md"}],
    }
    async with FakeAnthropic([structured({"findings": [finding]})]) as fake:
        env = {
            "PATH": os.environ["PATH"],
            "CLAUDE_CODE_OAUTH_TOKEN": OAUTH,
            "ANTHROPIC_BASE_URL": fake.url,
            "PYTHONPATH": str(ROOT),
        }
        proc = await run_cli(
            [
                sys.executable,
                "-m",
                "app.cli",
                "audit",
                "--base",
                "main",
                "--head",
                "feature",
                "--json",
                "-C",
                str(repo),
            ],
            env,
        )
    assert proc[0] == 1, proc[1]
    report = Report.model_validate(json_out(proc[1]))
    assert report.findings[0].evidence[0].verified
    assert report.run.base_sha
    assert report.run.head_sha
    assert report.run.base_sha != report.run.head_sha


class KilledMidway:
    """A harness whose session is cut off, as a cancelled or timed-out job step would be."""

    async def run(self, spec: object) -> object:
        raise KeyboardInterrupt


def test_a_stale_report_never_outlives_an_audit_that_did_not_finish(tmp_path: Path) -> None:
    """A report.json from before the audit (committed on the base, or left by an earlier step)
    is removed before anything else, so a run killed midway has no report to upload."""
    env = step_env(tmp_path, CLAUDE_CODE_OAUTH_TOKEN=OAUTH)
    stale = Path(env["CANON_GATE_REPORT"])
    stale.write_text(Report().model_dump_json())  # evaluated, no findings: a pass
    with pytest.raises(KeyboardInterrupt):
        main(env, KilledMidway())  # type: ignore[arg-type]
    assert not stale.exists()


def test_a_job_summary_that_cannot_be_written_never_fails_the_audit(tmp_path: Path) -> None:
    """The job summary is auxiliary: only a report that could not be written fails the step."""
    (tmp_path / "summary").mkdir()
    env = step_env(tmp_path, GITHUB_STEP_SUMMARY=str(tmp_path / "summary"))
    env["CANON_GATE_REPORT"] = str(tmp_path / "out/report.json")  # its folder is made
    assert main(env, NoSession()) == 0  # type: ignore[arg-type]
    assert Report.model_validate_json((tmp_path / "out/report.json").read_text()).error
