"""The rulesets `canon-gate init --print-ruleset` prints: the App's checks required on the default
branch, and the ledger branches kept the App's alone. Pure: bodies and the `gh api` commands.
"""

from __future__ import annotations

import json

from app.judge.checkrun import CHECK_NAME, STRUCTURE_CHECK_NAME

# `gh api` fills in `{owner}` and `{repo}` from the repository checked out where it runs.
RULESETS_PATH = "repos/{owner}/{repo}/rulesets"


# The ruleset that keeps the ledger branch the App's alone (`APP_ID`: the App's numeric id).
LEDGER_RULESET = (
    '{"name":"canon-gate ledger","target":"branch","enforcement":"active",'
    '"conditions":{"ref_name":{"include":["refs/heads/canon-gate/*"],"exclude":[]}},'
    '"rules":[{"type":"creation"},{"type":"update"},{"type":"deletion"},'
    '{"type":"non_fast_forward"}],'
    '"bypass_actors":[{"actor_id":APP_ID,"actor_type":"Integration","bypass_mode":"always"}]}'
)


# The ruleset that requires the App's checks on the default branch (`~DEFAULT_BRANCH`, whatever
# it is called). `integration_id` pins each check to the App: a check of the same name posted by
# anyone else (a workflow's job, another App) does not satisfy it.
# https://docs.github.com/en/rest/repos/rules#create-a-repository-ruleset
REQUIRED_CHECKS_RULESET = "canon-gate"


def required_checks_ruleset(app_id: int, *, require_structure: bool) -> dict[str, object]:
    """The default branch's ruleset: `canon-gate` (and `canon-gate/structure`) from the App."""
    contexts = [CHECK_NAME, *([STRUCTURE_CHECK_NAME] if require_structure else [])]
    return {
        "name": REQUIRED_CHECKS_RULESET,
        "target": "branch",
        "enforcement": "active",
        "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
        "rules": [
            {
                "type": "required_status_checks",
                "parameters": {
                    "strict_required_status_checks_policy": False,
                    "required_status_checks": [
                        {"context": name, "integration_id": app_id} for name in contexts
                    ],
                },
            }
        ],
    }


def ledger_ruleset(app_id: int) -> dict[str, object]:
    """`LEDGER_RULESET` for one App: only it may create, update or delete `canon-gate/*`."""
    ruleset: dict[str, object] = json.loads(LEDGER_RULESET.replace("APP_ID", str(app_id)))
    return ruleset


def ruleset_commands(app_id: int, *, require_structure: bool) -> str:
    """The `gh api` commands that create both rulesets, to run in a checkout of the repository.

    `gh` fills in `{owner}` and `{repo}` from the checkout; the quoted heredoc passes each body
    to GitHub byte for byte, whatever the shell.
    """
    bodies = [
        (
            "Require the App's checks on the default branch (pinned to App "
            f"{app_id}, so no other source can pass them):",
            required_checks_ruleset(app_id, require_structure=require_structure),
        ),
        (
            "Keep the ledger branches, canon-gate/*, the App's alone:",
            ledger_ruleset(app_id),
        ),
    ]
    lines = [
        "# Run in a checkout of the repository, as one of its administrators (the App needs no",
        "# administration permission: you create the rulesets).",
    ]
    for number, (what, body) in enumerate(bodies, 1):
        lines += [
            f"# {number}. {what}",
            f"gh api --method POST '{RULESETS_PATH}' --input - <<'JSON'",
            json.dumps(body, indent=2),
            "JSON",
        ]
    return "\n".join(lines)
