"""`canon-gate init --print-ruleset` (issue 12, item 4): the printed `gh api` commands create the
rulesets GitHub's REST description accepts, and nothing is written."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fakes.github.openapi import OpenAPI

from app.cli.main import main
from app.cli.rulesets import LEDGER_RULESET

RULESETS = "/repos/{owner}/{repo}/rulesets"
COMMAND = re.compile(
    r"^gh api --method POST '(?P<path>[^']+)' --input - <<'JSON'\n(?P<body>.*?)\nJSON$",
    re.MULTILINE | re.DOTALL,
)


def printed(capsys: pytest.CaptureFixture[str], *args: str) -> list[tuple[str, Any]]:
    assert main(["init", "--print-ruleset", *args]) == 0
    out = capsys.readouterr().out
    return [(m["path"], json.loads(m["body"])) for m in COMMAND.finditer(out)]


def test_the_printed_bodies_validate_against_create_a_repository_ruleset(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    commands = printed(capsys, "--app-id", "4242", "--require-structure")
    openapi = OpenAPI()
    assert openapi.operation("POST", RULESETS) is not None
    for path, body in commands:
        assert "/" + path == RULESETS  # gh fills in {owner} and {repo} from the checkout
        assert openapi.check("POST", RULESETS, {}, body, True) == []
    (default_branch, ledger) = (body for _, body in commands)
    assert default_branch["conditions"]["ref_name"]["include"] == ["~DEFAULT_BRANCH"]
    [rule] = default_branch["rules"]
    assert rule["type"] == "required_status_checks"
    assert rule["parameters"]["required_status_checks"] == [
        {"context": "canon-gate", "integration_id": 4242},
        {"context": "canon-gate/structure", "integration_id": 4242},
    ]
    # The ledger's ruleset is the one `init` already documents, for this App.
    assert ledger == json.loads(LEDGER_RULESET.replace("APP_ID", "4242"))
    assert ledger["bypass_actors"] == [
        {"actor_id": 4242, "actor_type": "Integration", "bypass_mode": "always"}
    ]
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_structure_is_required_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    (_, default_branch), _ = printed(capsys, "--app-id", "7")
    checks = default_branch["rules"][0]["parameters"]["required_status_checks"]
    assert checks == [{"context": "canon-gate", "integration_id": 7}]


@pytest.mark.parametrize("args", [[], ["--app-id", "0"], ["--require-structure"]])
def test_the_app_id_is_required(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    flags = args if args == ["--require-structure"] else ["--print-ruleset", *args]
    assert main(["init", *flags]) == 2
    assert "--app-id" in capsys.readouterr().err
