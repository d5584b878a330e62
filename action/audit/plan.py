"""Plan one run of the audit workflow: the structural check, and which gates run in which wave.

The plan job holds no model credential and runs nothing of the repository's: it reads the base's
config and canon, and the PR's changes, as data. Its structure report is the `structure` need of
the gates that name it, and the `canon-gate/structure` check run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from action.audit.collect import fail
from action.audit.inputs import AuditInputs
from action.audit.prepare import structure_of_change
from action.canon.model import CanonProblem
from action.canon.sources import fetched_for, unusable
from action.config import ConfigError, load_config
from action.gates import waves
from action.report import DEFAULT_GATE, STRUCTURE, ErrorKind, Report


@dataclass(frozen=True)
class Plan:
    """What the plan job decided: the structure report, and the gates of each wave."""

    structure: Report
    first: list[str]
    later: list[str]
    hints: bool
    sarif: bool = False

    def outputs(self) -> dict[str, str]:
        """The step's outputs, each one line."""
        return {
            "first": json.dumps(self.first),
            "later": json.dumps(self.later),
            "hints": "true" if self.hints else "false",
        }


def plan(inputs: AuditInputs) -> Plan:
    """Decide the run. Never raises for a bad config or canon: the gates' jobs report those."""
    run = inputs.run_info().model_copy(
        update={"gate": STRUCTURE, "caller_version": inputs.caller_version}
    )
    report = Report(run=run)
    only = inputs.gate or ""
    try:
        config = load_config(inputs.base_dir)
    except ConfigError as exc:
        # One job, which reports the invalid config (the App reads it as the defaults: one gate).
        broken = fail(report, f"the config is invalid: {exc}", ErrorKind.CONFIG)
        return Plan(broken, [only or DEFAULT_GATE], [], hints=False)
    first, later = waves(config, only)
    if only and not first:
        # A re-run of a gate the config no longer defines: its job says so.
        first = [only]
    fetched = fetched_for(inputs.base_dir, config.canon.sources)
    hints, sarif = bool(config.hints), config.sarif
    if (why := unusable(fetched)) is not None:
        return Plan(fail(report, why, ErrorKind.CONFIG), first, later, hints, sarif)
    try:
        problems = structure_of_change(inputs, config, fetched)
    except CanonProblem as exc:
        return Plan(fail(report, str(exc), ErrorKind.CONFIG), first, later, hints, sarif)
    return Plan(report.model_copy(update={"structure": problems}), first, later, hints, sarif)
