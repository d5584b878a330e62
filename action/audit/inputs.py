"""What one audit is asked to judge: the three checkouts and the identity of the run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from action.config import Config
from action.pins import PINNED
from action.report import Report, RunInfo


@dataclass(frozen=True)
class AuditInputs:
    base_dir: Path
    head_dir: Path
    # The PR's diff is taken from the merge-base checkout; None: from the base (older callers).
    merge_base_dir: Path | None = None
    repo: str | None = None
    pr: int | None = None
    head_sha: str | None = None
    base_sha: str | None = None
    merge_base_sha: str | None = None
    check_run_id: int | None = None
    workflow_run_id: int | None = None
    canon_ref: str | None = None
    is_fork: bool = False
    approved: bool = False
    # A git repository holding the base commit, and the commit: the governance key is read from
    # its objects (the Action's base checkout at HEAD; the local CLI's repository at base_sha).
    base_git: Path | None = None
    base_commit: str = "HEAD"
    # The harness the action's lock names (action/pins.py); any other installed one fails closed.
    expected_harness: tuple[str, str] = PINNED
    # The hint results the Action's hints job wrote (it holds no model credential).
    hints_file: Path | None = None
    # Run the hints in this process: only the local CLI, on the user's own machine, does.
    hints_in_process: bool = False
    # The configured gate to run (`gates[].name`); None: the one gate of a config without gates.
    gate: str | None = None
    # The reports of this gate's needs, as the workflow downloaded them: `<dir>/<artifact>/
    # report.json` for each (`structure` and gates). None: no needs to check (the local CLI
    # passes them in `need_reports` instead).
    needs_dir: Path | None = None
    # The needs' reports, when the caller holds them already (the local CLI runs every gate).
    need_reports: Mapping[str, Report] | None = None
    # Check the gate needs (False when the App started this gate alone, its needs passed).
    check_gate_needs: bool = True
    # The version of the client's workflow that ran this (recorded in the report).
    caller_version: int | None = None

    def run_info(self) -> RunInfo:
        """The report's `run` as far as the caller says it: what is audited, and for which run."""
        return RunInfo(
            repo=self.repo,
            pr=self.pr,
            head_sha=self.head_sha,
            base_sha=self.base_sha,
            merge_base_sha=self.merge_base_sha,
            check_run_id=self.check_run_id,
            workflow_run_id=self.workflow_run_id,
            canon_ref=self.canon_ref,
            canon_sha=self.base_sha,
        )


def awaiting_approval(inputs: AuditInputs, config: Config) -> bool:
    """Tell whether this is a fork PR that waits for a maintainer's go-ahead: nothing runs yet."""
    return inputs.is_fork and config.forks.require_approval and not inputs.approved
