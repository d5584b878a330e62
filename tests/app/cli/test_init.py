"""`canon-gate init` on a temporary repository: writes, refuses to overwrite, --force, parses."""

from __future__ import annotations

import json
import subprocess
import sysconfig
from pathlib import Path

import pytest
import yaml

from action.config import ACTION_KEYS, APP_KEYS, CONFIG_PATH, AppConfig, Config, parse_config
from app import resources
from app.cli.init_repo import LEDGER_RULESET, STARTER_CONFIG, TEMPLATE_ACTION, WORKFLOW_PATH
from app.cli.main import main


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_init_writes_the_workflow_and_a_config_that_parses_to_the_defaults(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "--path", str(repo)]) == 0
    workflow = (repo / WORKFLOW_PATH).read_text()
    assert workflow == resources.read_text(resources.WORKFLOW)
    assert "canon-gate/canon-gate/action@v1" in workflow
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
    for section in ("canon", "limits", "audit", "forks", "structure"):
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


def test_init_pins_the_chosen_action(repo: Path) -> None:
    args = ["init", "--path", str(repo), "--action-repo", "acme/gate", "--action-ref", "v2.1.0"]
    assert main(args) == 0
    workflow = (repo / WORKFLOW_PATH).read_text()
    assert "uses: acme/gate/action@v2.1.0" in workflow
    assert TEMPLATE_ACTION not in workflow


@pytest.mark.parametrize(
    "flag", [["--action-repo", "not a repo"], ["--action-ref", "v1; rm -rf /"]]
)
def test_init_rejects_a_bad_action_reference(
    repo: Path, flag: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "--path", str(repo), *flag]) == 1
    assert "must" in capsys.readouterr().err
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
