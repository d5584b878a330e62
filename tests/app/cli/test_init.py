"""`canon-gate init` on a temporary repository: writes, refuses to overwrite, --force, parses."""

from __future__ import annotations

import json
import re
import subprocess
import sysconfig
from pathlib import Path

import pytest
import yaml

from action.config import ACTION_KEYS, APP_KEYS, CONFIG_PATH, AppConfig, Config, parse_config
from app import buildinfo, resources
from app.cli.init_repo import WORKFLOW_PATH
from app.cli.main import main
from app.cli.rulesets import LEDGER_RULESET
from app.cli.starter import STARTER_CONFIG
from app.cli.workflow_file import TEMPLATE_ACTION, InitError, choose_pin

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_init_writes_the_workflow_and_a_config_that_parses_to_the_defaults(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "--path", str(repo)]) == 0
    workflow = (repo / WORKFLOW_PATH).read_text()
    # The packaged workflow, with the action pinned to the commit this canon-gate came from.
    info = buildinfo.current()
    assert info.action_sha is not None
    pinned = f"{info.action_repo}/action@{info.action_sha}"
    assert workflow == resources.read_text(resources.WORKFLOW).replace(
        TEMPLATE_ACTION, pinned + (f" # {info.action_tag}" if info.action_tag else "")
    )
    assert yaml.safe_load(workflow)["name"] == "canon-gate"
    config_text = (repo / CONFIG_PATH).read_text()
    assert parse_config(config_text) == Config()
    assert parse_config(config_text, view=AppConfig) == AppConfig()
    out = capsys.readouterr().out
    assert f"git -C {repo} add {WORKFLOW_PATH} {CONFIG_PATH}" in out
    assert "CLAUDE_CODE_OAUTH_TOKEN" in out
    assert "claude setup-token" in out

    # How to keep the ledger the App's alone: a ruleset on canon-gate/* only the App bypasses.
    assert "canon-gate/*" in out
    assert "bypass list" in out
    ruleset = json.loads(LEDGER_RULESET.replace("APP_ID", "42"))
    assert ruleset["conditions"]["ref_name"]["include"] == ["refs/heads/canon-gate/*"]
    assert {r["type"] for r in ruleset["rules"]} == {
        "creation",
        "update",
        "deletion",
        "non_fast_forward",
    }
    assert ruleset["bypass_actors"] == [
        {"actor_id": 42, "actor_type": "Integration", "bypass_mode": "always"}
    ]


def test_the_starter_config_documents_every_key() -> None:
    documented = yaml.safe_load(STARTER_CONFIG)
    assert set(documented) == ACTION_KEYS | APP_KEYS
    for section in ("canon", "limits", "audit", "forks", "structure", "verify"):
        field = Config.model_fields[section].annotation
        assert set(documented[section]) == set(field.model_fields), section  # type: ignore[union-attr]
    waivers = AppConfig.model_fields["waivers"].annotation
    assert set(documented["waivers"]) == set(waivers.model_fields)  # type: ignore[union-attr]
    # Comments explain it: at least one per key on average.
    comments = [line for line in STARTER_CONFIG.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) >= 20


def test_init_refuses_to_overwrite_without_force(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".github").mkdir()
    (repo / CONFIG_PATH).write_text("ledger: false\n")
    assert main(["init", "--path", str(repo)]) == 1
    err = capsys.readouterr().err
    assert CONFIG_PATH in err
    assert "--force" in err
    # Nothing was written: not even the workflow that did not exist.
    assert not (repo / WORKFLOW_PATH).exists()
    assert (repo / CONFIG_PATH).read_text() == "ledger: false\n"

    assert main(["init", "--path", str(repo), "--force"]) == 0
    assert parse_config((repo / CONFIG_PATH).read_text()) == Config()
    assert "Replaced" in capsys.readouterr().out


def test_init_pins_the_chosen_action_by_commit_with_its_tag_in_a_comment(repo: Path) -> None:
    args = ["init", "--path", str(repo), "--action-repo", "acme/gate", "--action-ref", SHA]
    assert main([*args, "--action-tag", "v2.1.0"]) == 0
    workflow = (repo / WORKFLOW_PATH).read_text()
    uses = [
        line.strip().removeprefix("- ")
        for line in workflow.splitlines()
        if "acme/gate/action" in line
    ]
    assert set(uses) == {f"uses: acme/gate/action@{SHA} # v2.1.0"}
    assert TEMPLATE_ACTION not in workflow
    # Every job that runs the action runs this commit.
    jobs = yaml.safe_load(workflow)["jobs"].values()
    refs = {s["uses"] for j in jobs for s in j.get("steps", []) if "/action@" in s.get("uses", "")}
    assert refs == {f"acme/gate/action@{SHA}"}


def test_a_wheel_pins_the_commit_and_tag_it_was_built_from() -> None:
    info = buildinfo.BuildInfo("1.2.3", "0.2.189", "2.1.332", 2, "acme/gate", SHA, "v1.2.3")
    assert choose_pin(info, None, None, None).uses == f"acme/gate/action@{SHA} # v1.2.3"
    # Another commit than the build's: its tag is not the build's.
    other = "f" * 40
    assert choose_pin(info, None, other, None).uses == f"acme/gate/action@{other}"
    unknown = buildinfo.BuildInfo("1.2.3", "0.2.189", "2.1.332", 2, "acme/gate", None, None)
    with pytest.raises(InitError, match="--action-ref SHA"):
        choose_pin(unknown, None, None, None)


@pytest.mark.parametrize(
    ("flag", "says"),
    [
        (["--action-repo", "not a repo"], "OWNER/REPO"),
        (["--action-ref", "v1; rm -rf /"], "40-character commit SHA"),
        # A tag can be moved under the gate: refused, with how to find its commit.
        (["--action-ref", "v2.1.0"], "git ls-remote https://github.com/"),
        (["--action-ref", SHA, "--action-tag", "v1 # x"], "tag name"),
    ],
)
def test_init_rejects_a_bad_action_reference(
    repo: Path, flag: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "--path", str(repo), *flag]) == 1
    assert says in capsys.readouterr().err
    assert not (repo / ".github").exists()


def test_init_runs_as_the_installed_command(repo: Path) -> None:
    # The console script of the environment running the tests, wherever that is.
    exe = Path(sysconfig.get_path("scripts")) / "canon-gate"
    assert exe.is_file(), f"canon-gate is not installed in this environment ({exe})"
    done = subprocess.run(
        [str(exe), "init", "--path", str(repo)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (repo / WORKFLOW_PATH).is_file()


@pytest.mark.parametrize(
    ("mode", "passes", "oidc"),
    [
        ("subscription", "claude-code-oauth-token", False),
        ("api_key", "anthropic-api-key", False),
        ("bedrock", "aws-role-arn", True),
        ("vertex", "gcp-workload-identity-provider", True),
    ],
)
def test_init_wires_each_way_to_pay(
    repo: Path, mode: str, passes: str, oidc: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "--path", str(repo), "--auth", mode]) == 0
    workflow = yaml.safe_load((repo / WORKFLOW_PATH).read_text())
    jobs = workflow["jobs"]
    for name in ("first", "later"):
        [step] = jobs[name]["steps"]
        assert passes in step["with"], name
        # Only a cloud mode's workflow may ask for an OIDC token, and only in the gates' jobs.
        assert ("id-token" in jobs[name]["permissions"]) is oidc
    assert not any("id-token" in jobs[n]["permissions"] for n in ("plan", "hints"))
    if mode != "subscription":
        assert "CLAUDE_CODE_OAUTH_TOKEN" not in (repo / WORKFLOW_PATH).read_text()
    assert parse_config((repo / CONFIG_PATH).read_text()).auth == mode
    out = capsys.readouterr().out
    step = {"subscription": "CLAUDE_CODE_OAUTH_TOKEN", "api_key": "ANTHROPIC_API_KEY"}
    step |= {"bedrock": "CANON_GATE_AWS_ROLE_ARN", "vertex": "CANON_GATE_GCP_PROJECT"}
    assert step[mode] in out


@pytest.mark.parametrize("mode", ["api_key", "bedrock", "vertex"])
def test_each_auth_workflow_passes_actionlint_against_the_action(repo: Path, mode: str) -> None:
    """The gates' `with:` keys must be inputs action.yml declares (actionlint checks a local
    action's inputs), and the permissions and expressions well formed."""
    import shutil

    from tests.action.test_workflow import ACTION, PUBLISHED_ACTION, lint

    assert main(["init", "--path", str(repo), "--auth", mode]) == 0
    text = (repo / WORKFLOW_PATH).read_text()
    pinned = {u for u in re.findall(r"uses: (\S+)", text) if PUBLISHED_ACTION.match(u)}
    local = text
    for uses in pinned:
        local = local.replace(uses, "./action")
    (repo / "action").mkdir()
    shutil.copy(ACTION, repo / "action/action.yml")
    (repo / WORKFLOW_PATH).write_text(local)
    lint(cwd=repo)


def run_init(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sysconfig.get_path("scripts")) / "canon-gate"
    return subprocess.run(
        [str(exe), "init", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_init_writes_at_the_repository_root_from_a_subdirectory(repo: Path) -> None:
    """Issue 15, item 13: GitHub reads `.github/` only at the root."""
    sub = repo / "docs" / "guide"
    sub.mkdir(parents=True)
    done = run_init(sub)
    assert done.returncode == 0, done.stderr
    assert (repo / WORKFLOW_PATH).is_file()
    assert (repo / CONFIG_PATH).is_file()
    assert not (sub / ".github").exists()
    # The commands work from where the user is.
    assert f"git -C ../.. add {WORKFLOW_PATH} {CONFIG_PATH}" in done.stdout


def test_init_at_the_root_prints_plain_git_commands_and_every_next_step(repo: Path) -> None:
    done = run_init(repo)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith(f"Wrote {WORKFLOW_PATH}\nWrote {CONFIG_PATH}\n")
    assert f"\n       git add {WORKFLOW_PATH} {CONFIG_PATH}\n" in out
    assert "git -C" not in out
    # Where the canon goes, and that the App must be installed on this repository.
    assert "in canon/" in out
    assert "(This repository has no canon/ yet.)" in out
    assert "Install the canon-gate App on this repository" in out
    steps = re.findall(r"^  (\d+)\. ", out, flags=re.MULTILINE)
    assert steps == [str(n) for n in range(1, len(steps) + 1)]
    (repo / "canon").mkdir()
    again = run_init(repo, "--force")
    assert "no canon/ yet" not in again.stdout


def test_init_outside_a_repository_refuses_in_one_line(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    for where in (["--path", str(plain)], ["--path", str(plain / "missing")]):
        done = run_init(tmp_path, *where)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.splitlines()) == 1, done.stderr
        assert done.stderr.startswith("canon-gate init: ")
        assert "Traceback" not in done.stderr
    assert "is not inside a git repository" in run_init(plain).stderr
    assert not (plain / ".github").exists()


def test_the_refusal_to_overwrite_agrees_with_its_count(repo: Path) -> None:
    (repo / ".github").mkdir()
    (repo / CONFIG_PATH).write_text("ledger: false\n")
    done = run_init(repo)
    assert done.returncode == 1
    assert f"{CONFIG_PATH} already exists; run again with --force" in done.stderr
    (repo / ".github/workflows").mkdir()
    (repo / WORKFLOW_PATH).write_text("name: mine\n")
    done = run_init(repo)
    assert f"{WORKFLOW_PATH} and {CONFIG_PATH} already exist; run again" in done.stderr


def test_the_written_workflow_carries_no_stale_note_about_init() -> None:
    assert "init replaces" not in resources.read_text(resources.WORKFLOW)
