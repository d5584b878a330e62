"""`canon-gate init`: write the audit workflow and a starter config into a repository checkout.

What it writes is made elsewhere: the workflow in `workflow_file.py`, the config in `starter.py`,
and the rulesets `--print-ruleset` prints in `rulesets.py`. This module is the command: where to
write, what not to overwrite, and the next steps.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from action.config import CONFIG_PATH
from app import buildinfo, resources
from app.cli.rulesets import LEDGER_RULESET, ruleset_commands
from app.cli.starter import starter_config
from app.cli.workflow_file import (
    AUTH_MODES,
    InitError,
    choose_pin,
    render_workflow,
    with_auth,
    with_sarif,
)
from app.judge.outcomes import DEFAULT_WORKFLOW_FILE, workflow_path

WORKFLOW_PATH = workflow_path(DEFAULT_WORKFLOW_FILE)


@dataclass(frozen=True)
class Written:
    path: Path
    replaced: bool


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--path",
        type=Path,
        default=Path("."),
        help="a folder in the repository's checkout; init writes at its root (default: .)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite files that exist")
    parser.add_argument(
        "--action-repo",
        default=None,
        help="the repository the action comes from (default: this build's)",
    )
    parser.add_argument(
        "--action-ref",
        default=None,
        help="the action's full commit SHA to pin (default: the commit this build came from)",
    )
    parser.add_argument(
        "--action-tag",
        default=None,
        help="the release tag that commit is, written as a comment (default: this build's tag)",
    )
    parser.add_argument(
        "--print-ruleset",
        action="store_true",
        help="print the `gh api` commands that create the branch rulesets, and write nothing",
    )
    parser.add_argument(
        "--app-id",
        type=int,
        default=None,
        help="the canon-gate App's id (its status page shows it), for --print-ruleset",
    )
    parser.add_argument(
        "--require-structure",
        action="store_true",
        help="with --print-ruleset, require canon-gate/structure as well as canon-gate",
    )
    parser.add_argument(
        "--sarif",
        action="store_true",
        help="upload findings to code scanning (adds `security-events: write` to the gates' jobs)",
    )
    parser.add_argument(
        "--auth",
        choices=AUTH_MODES,
        default=None,
        help="how the audit pays for the model (default: your subscription's token)",
    )


# The next step that gives the workflow its model credential, per mode.
_CREDENTIAL_STEPS = {
    "subscription": [
        "Add the repository secret CLAUDE_CODE_OAUTH_TOKEN: make a token with",
        "  claude setup-token",
        "then add it, e.g. with: gh secret set CLAUDE_CODE_OAUTH_TOKEN",
        "The token is yours: it stays a secret of this repository, used by its own",
        "runner; canon-gate never sees, stores or relays it.",
    ],
    "api_key": [
        "Add the repository secret ANTHROPIC_API_KEY (an Anthropic API key), e.g. with:",
        "  gh secret set ANTHROPIC_API_KEY",
    ],
    "bedrock": [
        "Let the workflow assume an AWS role with GitHub's OIDC token: create an IAM role",
        "that trusts token.actions.githubusercontent.com for this repository and may call",
        "bedrock:InvokeModel and bedrock:InvokeModelWithResponseStream, then set:",
        "  gh variable set CANON_GATE_AWS_ROLE_ARN --body arn:aws:iam::ACCOUNT:role/NAME",
        "  gh variable set CANON_GATE_AWS_REGION --body us-east-1",
    ],
    "vertex": [
        "Let the workflow act as a Google service account through workload identity",
        "federation that trusts this repository, with the Vertex AI User role, then set:",
        "  gh variable set CANON_GATE_GCP_WORKLOAD_IDENTITY_PROVIDER --body projects/N/...",
        "  gh variable set CANON_GATE_GCP_SERVICE_ACCOUNT \\",
        "    --body NAME@PROJECT.iam.gserviceaccount.com",
        "  gh variable set CANON_GATE_GCP_PROJECT --body PROJECT",
        "  gh variable set CANON_GATE_GCP_REGION --body us-east5",
    ],
}


def repository_root(path: Path) -> Path:
    """The top of the git repository that holds `path`: GitHub reads `.github/` only there."""
    if not path.is_dir():
        raise InitError(f"{path} is not a directory")
    try:
        top = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        raise InitError(
            f"{path} is not inside a git repository: run init in a checkout of the repository "
            "the gate is for, or pass --path"
        ) from None
    return Path(top)


def already_exist(names: list[str]) -> str:
    """`X already exists`, `X and Y already exist`."""
    if len(names) == 1:
        return f"{names[0]} already exists"
    return f"{', '.join(names[:-1])} and {names[-1]} already exist"


def write_files(root: Path, files: dict[str, str], *, force: bool) -> list[Written]:
    """Write every file, or none: without `force`, any existing one stops the lot."""
    if not root.is_dir():
        raise InitError(f"{root} is not a directory")
    existing = [name for name in files if (root / name).exists()]
    if existing and not force:
        raise InitError(f"{already_exist(existing)}; run again with --force to overwrite")
    written = []
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        replaced = target.exists()
        target.write_text(text, encoding="utf-8")
        written.append(Written(target, replaced))
    return written


def _shown(path: Path, cwd: Path) -> str:
    """A path as the user reads it: relative to where they are, when it is below."""
    return str(path.relative_to(cwd)) if path.is_relative_to(cwd) else str(path)


def _git_here(root: Path, cwd: Path) -> str:
    """`git`, or `git -C DIR` when the user is elsewhere than the repository's root."""
    if root == cwd:
        return "git"
    where = os.path.relpath(root, cwd) if cwd.is_relative_to(root) else str(root)
    return f"git -C {shlex.quote(where)}"


def next_steps(
    root: Path, written: list[Written], mode: str | None = None, cwd: Path | None = None
) -> str:
    """What the user does now: canon, the files committed, the App installed on the
    repository, the model credential, and the rulesets."""
    cwd = (cwd or Path.cwd()).resolve()
    root = root.resolve()
    git = _git_here(root, cwd)
    lines = [
        f"{'Replaced' if w.replaced else 'Wrote'} {_shown(w.path.resolve(), cwd)}" for w in written
    ]
    steps = [
        [
            "Put the canon, the documents the gate judges each change against, in canon/",
            "(or set canon.paths in .github/canon-gate.yml to the folders that hold it):",
            "markdown files that open with YAML frontmatter (uri, title, status: active).",
            "`canon-gate structure` checks them. Review the rest of the config too.",
            *([] if (root / "canon").is_dir() else ["(This repository has no canon/ yet.)"]),
        ],
        [
            "Commit both files to the default branch, e.g.:",
            f"  {git} add {WORKFLOW_PATH} {CONFIG_PATH}",
            f"  {git} commit -m 'Add the canon-gate audit gate' && {git} push",
            "The App runs the workflow from the default branch, so a pull request cannot",
            "change the workflow that judges it.",
        ],
        [
            "Install the canon-gate App on this repository: its setup or status page (from",
            "`canon-gate serve`) links to the App's page on GitHub; choose Install, then this",
            "repository. Until then no check runs.",
        ],
        _CREDENTIAL_STEPS[mode or "subscription"],
        [
            "Make `canon-gate` a required check in the branch's protection rules:",
            "  canon-gate init --print-ruleset --app-id APP_ID [--require-structure]",
            "prints the `gh api` commands that create the rulesets for this step and the next.",
        ],
        [
            "Protect the ledger: anyone who can push to canon-gate/ledger can delete the",
            "App's records (the App ignores records it did not seal, and says so, but a",
            "deleted record is gone). In Settings > Rules > Rulesets, add a branch ruleset",
            "that targets the pattern canon-gate/*, turns on Restrict creations, Restrict",
            "updates, Restrict deletions and Block force pushes, and lists only the canon-gate",
            "App in its bypass list (Always allow). Or, with the App's id:",
            f"  gh api -X POST repos/OWNER/REPO/rulesets --input - <<<'{LEDGER_RULESET}'",
        ],
    ]
    lines += ["", "Next:"]
    for number, (first, *rest) in enumerate(steps, 1):
        lines.append(f"  {number}. {first}")
        lines += [f"     {line}" for line in rest]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.print_ruleset or args.require_structure:
        if not args.print_ruleset or args.app_id is None or args.app_id <= 0:
            print(
                "canon-gate init: --print-ruleset needs --app-id N, the App's numeric id "
                "(its status page, or GitHub's App settings, shows it)",
                file=sys.stderr,
            )
            return 2
        print(ruleset_commands(args.app_id, require_structure=args.require_structure))
        return 0
    info = buildinfo.current()
    try:
        root = repository_root(args.path)
    except InitError as exc:
        print(f"canon-gate init: {exc}", file=sys.stderr)
        return 2
    try:
        pin = choose_pin(info, args.action_repo, args.action_ref, args.action_tag)
        workflow = with_auth(
            render_workflow(resources.read_text(resources.WORKFLOW), pin),
            args.auth or "subscription",
        )
        if args.sarif:
            workflow = with_sarif(workflow)
        config = starter_config(args.auth, sarif=args.sarif)
        written = write_files(
            root, {WORKFLOW_PATH: workflow, CONFIG_PATH: config}, force=args.force
        )
    except (InitError, OSError) as exc:
        print(f"canon-gate init: {exc}", file=sys.stderr)
        return 1
    if pin.tag is None:
        print(
            f"note: the workflow runs {pin.repo}/action at {pin.sha}, which is no release "
            f"tag; make sure {pin.repo} has that commit, or pass a release's with --action-ref",
            file=sys.stderr,
        )
    print(next_steps(root, written, args.auth))
    return 0
