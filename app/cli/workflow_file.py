"""The workflow `canon-gate init` writes: the packaged one, pinned to the action's commit, with the
gate jobs given the auth mode's credential (and OIDC, or SARIF upload, where asked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from action.errors import CanonGateError
from app import buildinfo

# The packaged workflow names the action by this reference; init swaps in a commit pin.
TEMPLATE_ACTION = "canon-gate/canon-gate/action@v1"
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_TAG = re.compile(r"^[A-Za-z0-9_.+-]+$")


class InitError(CanonGateError):
    """init cannot go ahead; the message says why and what to do."""


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
