"""`canon-gate init`: write the audit workflow and a starter config into a repository checkout."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from action.config import CONFIG_PATH
from action.errors import CanonGateError
from app import buildinfo, resources
from app.judge.checkrun import CHECK_NAME, STRUCTURE_CHECK_NAME
from app.judge.outcomes import DEFAULT_WORKFLOW_FILE, workflow_path

WORKFLOW_PATH = workflow_path(DEFAULT_WORKFLOW_FILE)
# The packaged workflow names the action by this reference; init swaps in a commit pin.
TEMPLATE_ACTION = "canon-gate/canon-gate/action@v1"
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_TAG = re.compile(r"^[A-Za-z0-9_.+-]+$")
# `gh api` fills in `{owner}` and `{repo}` from the repository checked out where it runs.
RULESETS_PATH = "repos/{owner}/{repo}/rulesets"

# Every key with its default, so the file documents itself; it parses to exactly the defaults.
STARTER_CONFIG = """\
# canon-gate: the audit gate's settings for this repository.
# Every key below is set to its default; change what you need and delete the rest.
# canon-gate reads this file from the default branch, so a pull request cannot change the
# rules that judge it.

canon:
  # Folders (or files) holding the canon: markdown documents with YAML frontmatter
  # (uri, title, status, supersedes, ...) that the change is audited against.
  paths:
    - canon
  # Canon documents (URI or path) whose full text opens every audit, e.g. a charter.
  foundation: []
  # Canon from other repositories, fetched read-only at run time and recorded by commit. URIs
  # under `prefix` resolve in that repository's canon, for example:
  #   sources:
  #     - prefix: "klappy://"
  #       repo: OWNER/REPO
  #       ref: 0123456789abcdef0123456789abcdef01234567  # pin a commit: a moving branch lets
  #       path: canon                                    # that repository change your gate
  # A private repository needs the CANON_GATE_SOURCES_TOKEN secret (a token that can read it).
  sources: []

# The Claude model for the audit session; null means the Claude Code default.
model: null

# How the session pays for the model, always with the repository's own credential, in its own
# runner: subscription (the CLAUDE_CODE_OAUTH_TOKEN secret), api_key (ANTHROPIC_API_KEY),
# bedrock (Amazon Bedrock through the workflow's OIDC role) or vertex (Google Vertex AI through
# workload identity federation). auto takes the first credential the workflow passes.
auth: auto

# Upload each gate's findings to GitHub code scanning as SARIF, on the pull request's head. The
# workflow needs `security-events: write` for it, which `canon-gate init --sarif` writes.
sarif: false

limits:
  # Stop the session after this many turns (1-500).
  max_turns: 40
  # ... or once it has used this much, priced at API rates, in US dollars.
  max_budget_usd: 5.0
  # ... or after this long (10 s to 25 min: it must end inside the audit job's 30 minutes).
  wall_time_seconds: 900
  # Paid sessions one head commit may start, re-runs included; past it a person must decide.
  sessions_per_head: 5
  # Sessions the repository may start in a UTC day (counted from its ledger); null: no cap.
  # Past it, an audit concludes action required with the time the count resets.
  daily_sessions: null

# Mechanical checks whose output the session reads as hints; they never set the verdict.
# Each runs without a shell on the base branch's checkout, for example:
#   hints:
#     - name: links
#       run: python scripts/check_links.py
#       timeout_seconds: 60
hints: []

# A vote before a finding blocks: fresh, independent, read-only sessions (1, 3 or 5 votes) each
# confirm or refute every substantive finding; a majority of refutes stops it blocking (it stays
# as a notice, with the reasons). A verifier that fails counts as confirm. Off (0) by default;
# `canon-gate eval` shows what it changes on your corpus, and what it costs.
verify:
  votes: 0
  # The verifiers' model; null: the audit's.
  model: null
  # Substantive findings put to the vote; any beyond block unverified.
  max_findings: 10
  # The whole vote's time, after the session: with `limits.wall_time_seconds` at most 1,500.
  wall_time_seconds: 300

audit:
  # Glob patterns: a pull request that changes nothing matching them is not audited.
  paths:
    - "**"
  exclude: []

forks:
  # A fork's pull request waits for a maintainer's `/canon-gate approve <head-sha>` comment,
  # naming the head commit they reviewed, before the session reads it.
  require_approval: true

# Record every verdict and waiver as a commit on the `canon-gate/ledger` branch. Waivers
# (`/canon-gate waive <finding-id> <reason>`) need the ledger.
ledger: true

# Keep one pull request comment, updated in place, that tracks the findings.
comment: false

# enforce: substantive findings fail the check. advisory, while you roll the gate out: findings
# are annotated as usual, but the check concludes neutral ("would have failed") and never blocks;
# the ledger records each verdict as advisory. Switch to enforce when the findings look right.
mode: enforce

# Offer a finding's suggested replacement as a one-click suggestion on the pull request's diff:
# one review per audit run, each fix offered once, its comment edited when the finding resolves.
# A fix for lines outside the diff stays in the check run's annotation.
suggestions: true

# A merge queue's group gets the same checks as a pull request, on the group's own commit.
#   reuse: when the pull request the group adds passed at its current head, judged under what
#          governs the group's base (the same config and canon), conclude them from that verdict
#          without a session; otherwise audit the group's change.
#   audit: always audit the group's own change (its head against its base) with a session.
merge_queue: reuse

# Re-judge open pull requests when a push to the default branch changes the config or canon.
# Off by default: each re-judged pull request is a paid session. Without it, keep verdicts
# current with a merge queue or "Require branches to be up to date before merging".
reaudit_on_canon_change:
  enabled: false
  # Sessions one push may start, newest pull requests first. The other pull requests whose
  # verdict passed get an action-required `canon-gate` run saying so, with Re-run.
  max_per_push: 5

waivers:
  # Whether a pull request's author may waive findings on their own pull request; by default
  # someone else with write access must (separation of duties).
  allow_author: false
  # Days after which a waiver stops applying (1-3650); null means it lasts while its finding
  # persists on the pull request. `/canon-gate unwaive <finding-id>` ends one sooner.
  expire_days: null

structure:
  # Check the canon's frontmatter as its own check run (this one may block a merge).
  enabled: true
  # Statuses allowed besides draft, active, superseded and deprecated.
  statuses: []
  # Frontmatter keys every canon document must have.
  required:
    - uri
    - title
    - status

# Several gates, each its own check run `canon-gate/<name>`, each a session whose task is the
# text of its persona documents in the canon (null: one gate, `canon-gate`, with the built-in
# audit). With gates, `canon-gate` is their aggregate. For example:
#   gates:
#     - name: code-sync                  # check run canon-gate/code-sync
#       persona: [canon/personas/code-auditor.md]
#       paths: ["src/**", "canon/**"]    # a change elsewhere concludes neutral, no session
#       exclude: ["**/*.lock"]
#       model: null                      # the top-level model unless set
#       limits: {max_turns: 30, max_budget_usd: 2}
#       needs: [structure]               # run only once these passed (structure, or gates)
gates: null
"""


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


class InitError(CanonGateError):
    """init cannot go ahead; the message says why and what to do."""


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


# How the gates' jobs get their model credential, per `--auth`: the packaged workflow passes the
# subscription token; the others replace that line in each gate job, and the cloud modes also
# let the job ask for an OIDC token (only these workflows get `id-token: write`).
AUTH_MODES = ("subscription", "api_key", "bedrock", "vertex")
_TOKEN_LINE = "          claude-code-oauth-token: ${{ secrets.CLAUDE_CODE_OAUTH_TOKEN }}\n"  # noqa: S105
_GATE_PERMISSIONS = "      contents: read # the checkouts\n    strategy:\n"
_OIDC = "      id-token: write # OIDC: short-lived cloud credentials for the model\n"
_SARIF = "      security-events: write # upload the findings to code scanning (SARIF)\n"
_CREDENTIALS = {
    "api_key": "          anthropic-api-key: ${{ secrets.ANTHROPIC_API_KEY }}\n",
    "bedrock": (
        "          auth: bedrock\n"
        "          aws-role-arn: ${{ vars.CANON_GATE_AWS_ROLE_ARN }}\n"
        "          aws-region: ${{ vars.CANON_GATE_AWS_REGION }}\n"
    ),
    "vertex": (
        "          auth: vertex\n"
        "          gcp-workload-identity-provider:"
        " ${{ vars.CANON_GATE_GCP_WORKLOAD_IDENTITY_PROVIDER }}\n"
        "          gcp-service-account: ${{ vars.CANON_GATE_GCP_SERVICE_ACCOUNT }}\n"
        "          gcp-project: ${{ vars.CANON_GATE_GCP_PROJECT }}\n"
        "          gcp-region: ${{ vars.CANON_GATE_GCP_REGION }}\n"
    ),
}
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


def with_auth(workflow: str, mode: str) -> str:
    """The workflow with the gates' jobs given the mode's credential (and OIDC for a cloud)."""
    if mode == "subscription":
        return workflow
    gates = workflow.count(_TOKEN_LINE)
    if gates == 0 or workflow.count(_GATE_PERMISSIONS) != gates:
        raise InitError("the packaged workflow does not have the gate jobs init expects")
    out = workflow.replace(_TOKEN_LINE, _CREDENTIALS[mode])
    if mode in ("bedrock", "vertex"):
        out = out.replace(
            _GATE_PERMISSIONS, _GATE_PERMISSIONS.replace("    strategy:", _OIDC + "    strategy:")
        )
    return out


def with_sarif(workflow: str) -> str:
    """The workflow with the gates' jobs allowed to upload SARIF to code scanning."""
    if not workflow.count(_GATE_PERMISSIONS):
        raise InitError("the packaged workflow does not have the gate jobs init expects")
    return workflow.replace(
        _GATE_PERMISSIONS, _GATE_PERMISSIONS.replace("    strategy:", _SARIF + "    strategy:")
    )


def starter_config(mode: str | None, *, sarif: bool = False) -> str:
    """The starter config; with `--auth`, naming that mode; with `--sarif`, uploading SARIF."""
    text = STARTER_CONFIG
    if mode is not None:
        text = text.replace("\nauth: auto\n", f"\nauth: {mode}\n")
    return text.replace("\nsarif: false\n", "\nsarif: true\n") if sarif else text


@dataclass(frozen=True)
class Pin:
    """The action a workflow runs: a repository and a full commit SHA, with its tag as a comment."""

    repo: str
    sha: str
    tag: str | None

    @property
    def uses(self) -> str:
        return f"{self.repo}/action@{self.sha}" + (f" # {self.tag}" if self.tag else "")


def choose_pin(
    info: buildinfo.BuildInfo, repo: str | None, ref: str | None, tag: str | None
) -> Pin:
    """The pin init writes: the flags where given, else the commit this build came from.

    A tag or branch is refused: it can be moved, and the judge would change under the gate with
    no change to the workflow. The release tag goes in a comment (Dependabot reads it there).
    """
    repo = repo or info.action_repo
    if not _REPO.match(repo):
        raise InitError(f"--action-repo must look like OWNER/REPO, not {repo!r}")
    sha = ref or info.action_sha
    if sha is None:
        raise InitError(
            "this canon-gate does not know which commit it was built from; pass the action's "
            "commit with --action-ref SHA (see `git ls-remote https://github.com/"
            f"{repo} refs/tags/v1`)"
        )
    if not _SHA.match(sha):
        raise InitError(
            f"--action-ref must be a full 40-character commit SHA, not {sha!r}: a tag can be "
            f"moved. Find a tag's commit with `git ls-remote https://github.com/{repo} "
            f"refs/tags/{sha if _TAG.match(sha) else 'v1'}` and pass --action-tag with the tag"
        )
    if tag is None and sha == info.action_sha:
        tag = info.action_tag
    if tag is not None and not _TAG.match(tag):
        raise InitError(f"--action-tag must be a tag name, not {tag!r}")
    return Pin(repo, sha, tag)


def render_workflow(template: str, pin: Pin) -> str:
    """The packaged workflow with every use of the action pinned to `pin`."""
    if TEMPLATE_ACTION not in template:
        raise InitError(f"the packaged workflow does not reference {TEMPLATE_ACTION}")
    return template.replace(TEMPLATE_ACTION, pin.uses)


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
