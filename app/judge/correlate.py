"""How a check run, a workflow run and a PR are tied together, without any stored state.

The check run's `external_id` names the PR and the SHAs it audits; the workflow run's
`display_title` (the workflow's `run-name`) names the check run; the check run's `details_url`
names the one workflow run it waits for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from app.events import Repository, WorkflowRun
from app.judge.outcomes import workflow_path

# `canon-gate:v1:pr=N:head=SHA:base=SHA` then optional fields, in this order:
#   gk=    the governance key the audit is judged under (action.governance);
#   gate=  on the `canon-gate` run, the one gate a re-run audits (absent: every gate); on a
#          gate's own run, its gate;
#   group= a merge group's head ref, when the audit is of a merge queue's group;
#   via=   what asked for an explicit re-run or a waiver's verdict (a delivery or a comment);
#   check= on a gate's or the structure check's run, the `canon-gate` run it belongs to.
_PREFIX = "canon-gate:v1:"
_FIELDS = {
    "pr": re.compile(r"\d+"),
    "head": re.compile(r"[0-9a-f]{40}"),
    "base": re.compile(r"(?:[0-9a-f]{40})?"),
    "gk": re.compile(r"gk\d-[0-9a-f]{8,64}"),
    "gate": re.compile(r"[a-z0-9-]{1,40}"),
    "group": re.compile(r"[\w./-]{1,200}"),
    "via": re.compile(r"[\w.-]{1,64}"),
    "check": re.compile(r"\d+"),
}
_TITLE = re.compile(r"\bcheck (\d+)\b")
_RUN_URL = re.compile(r"/actions/runs/(\d+)")


@dataclass(frozen=True)
class AuditKey:
    """What one audit judges: a PR at a head SHA, governed by a base SHA and its key."""

    pr: int
    head_sha: str
    base_sha: str = ""
    # The governance key at `base_sha`, computed by the App ("" when unknown: never satisfies).
    governance: str = ""
    # What asked for an explicit re-run or a waiver's verdict, so a redelivery finds its run.
    trigger: str = ""
    # The gate (see the field list above; "" on the `canon-gate` run of a whole audit).
    gate: str = ""
    # A merge group's head ref ("" for a pull request's audit).
    group: str = ""
    # On a gate's or the structure check's run: the `canon-gate` run it belongs to.
    check: int | None = None

    @property
    def external_id(self) -> str:
        parts = [f"pr={self.pr}", f"head={self.head_sha}", f"base={self.base_sha}"]
        parts += [f"gk={self.governance}"] if self.governance else []
        parts += [f"gate={self.gate}"] if self.gate else []
        parts += [f"group={self.group}"] if self.group else []
        parts += [f"via={self.trigger}"] if self.trigger else []
        parts += [f"check={self.check}"] if self.check is not None else []
        return _PREFIX + ":".join(parts)

    def of_gate(self, gate: str, check: int, governance: str) -> AuditKey:
        """The key of one gate's run (or the structure check's) under the run `check`, with that
        gate's own governance key."""
        return replace(self, gate=gate, check=check, governance=governance)


def trigger_of(value: str) -> str:
    """Make a delivery id or comment id fit the `:via=` part of an external id."""
    return re.sub(r"[^\w.-]", "-", value)[:64]


def parse_external_id(value: str | None) -> AuditKey | None:
    """Read an external id the App wrote; None for anything else."""
    if not value or not value.startswith(_PREFIX):
        return None
    fields: dict[str, str] = {}
    for part in value[len(_PREFIX) :].split(":"):
        name, sep, text = part.partition("=")
        pattern = _FIELDS.get(name)
        if not sep or pattern is None or name in fields or not pattern.fullmatch(text):
            return None
        fields[name] = text
    if "pr" not in fields or "head" not in fields or "base" not in fields:
        return None
    return AuditKey(
        pr=int(fields["pr"]),
        head_sha=fields["head"],
        base_sha=fields["base"],
        governance=fields.get("gk", ""),
        trigger=fields.get("via", ""),
        gate=fields.get("gate", ""),
        group=fields.get("group", ""),
        check=int(fields["check"]) if "check" in fields else None,
    )


def check_run_id_of(display_title: str) -> int | None:
    """Read the check run id the App put into the workflow's `run-name`; None for a manual run."""
    match = _TITLE.search(display_title)
    return int(match[1]) if match else None


def workflow_run_id_of(details_url: str | None) -> int | None:
    match = _RUN_URL.search(details_url or "")
    return int(match[1]) if match else None


def is_audit_workflow(run: WorkflowRun, workflow_file: str) -> bool:
    return run.path.split("@", 1)[0] == workflow_path(workflow_file)


def untrusted(run: WorkflowRun, repo: Repository) -> str | None:
    """Say why a run of the audit workflow may not judge, or None when it may.

    Only the workflow as it is on the default branch judges, and only when dispatched: a PR can
    edit its own copy of the file to run on `pull_request` and upload a report of its choosing.
    """
    if run.event != "workflow_dispatch":
        return f"it was started by `{run.event or 'an unknown event'}`, not dispatched"
    if run.head_branch != repo.default_branch:
        return f"it ran the workflow from `{run.head_branch}`, not the default branch"
    if run.head_repository is not None and run.head_repository.id != repo.id:
        return "it ran in another repository"
    return None


def branch_problem(
    run: WorkflowRun, *, manual: bool, default_tip: str, on_default_branch: bool
) -> str | None:
    """Say why a run the App cannot identify by id may not judge; None when it may.

    A run whose id the App's own dispatch returned is trusted by that id. Any other run named
    the default branch, but a tag of the same name says so too: a manual run must have run the
    branch's current commit, and a run the App dispatched without learning its id (an older
    GitHub Enterprise Server) a commit on the branch.
    """
    if manual and run.head_sha != default_tip:
        return f"it ran {run.head_sha[:7]}, not the default branch's commit {default_tip[:7]}"
    if not manual and not on_default_branch:
        return f"it ran {run.head_sha[:7]}, which is not on the default branch"
    return None
