"""The runner's gate decisions: waves, each gate's config, and whether its needs passed."""

from __future__ import annotations

import pytest

from action.config import Config, parse_config
from action.gates import gate_config, gate_names, unmet_need, waves
from action.report import (
    Classification,
    Evidence,
    Finding,
    Kind,
    Location,
    Report,
    StructureProblem,
)

FOUR_GATES = """\
model: claude-base
limits: {max_turns: 40, max_budget_usd: 5}
gates:
  - name: code-sync
    persona: [ams://canon/personas/canon-code-auditor]
    paths: ["src/**", "canon/**"]
    exclude: ["**/*.lock"]
    model: claude-review
    limits: {max_turns: 30, max_budget_usd: 2}
    needs: [structure]
  - name: gauntlet
    persona: [ams://canon/personas/gauntlet-runner]
    paths: ["canon/**", "docs/**"]
    needs: [structure]
  - name: artifacts
    persona: [ams://canon/personas/artifact-validator]
    paths: ["out/**"]
    needs: [code-sync]
  - name: smoke
    persona: [ams://canon/personas/smoke]
"""


def finding(classification: Classification) -> Finding:
    return Finding(
        id="cg-0123456789",
        classification=classification,
        kind=Kind.DRIFT,
        location=Location(path="src/a.py", start_line=1, end_line=1),
        claim="drift",
        evidence=[Evidence(quote="q", source="canon/a.md", verified=True)],
    )


def test_without_gates_there_is_one_gate_and_the_config_is_unchanged() -> None:
    config = Config()
    assert gate_names(config) == ("canon-gate",)
    assert waves(config) == (["canon-gate"], [])
    assert gate_config(config, "canon-gate") == config


def test_the_four_gate_setup_runs_in_two_waves_each_with_its_own_config() -> None:
    config = parse_config(FOUR_GATES)
    assert waves(config) == (["code-sync", "gauntlet", "smoke"], ["artifacts"])
    assert waves(config, only="artifacts") == (["artifacts"], [])
    assert waves(config, only="gone") == ([], [])
    seen = gate_config(config, "code-sync")
    assert (seen.model, seen.limits.max_turns, seen.limits.max_budget_usd) == (
        "claude-review",
        30,
        2,
    )
    # Unset limits fall back to the top level; the gate's paths are the audit's scope.
    assert seen.limits.wall_time_seconds == config.limits.wall_time_seconds
    assert (seen.audit.paths, seen.audit.exclude) == (["src/**", "canon/**"], ["**/*.lock"])
    assert gate_config(config, "gauntlet").model == "claude-base"


@pytest.mark.parametrize(
    ("reports", "unmet"),
    [
        ({}, "`structure` did not report in this run; fix that first"),
        ({"structure": Report(structure=[])}, None),
        ({"structure": Report()}, None),  # the check had nothing to check
        (
            {"structure": Report(structure=[StructureProblem(path="c.md", rule="r", message="m")])},
            "`structure` failed (1 problem); fix that first",
        ),
    ],
)
def test_the_structural_need(reports: dict[str, Report], unmet: str | None) -> None:
    [gate, *_] = parse_config(FOUR_GATES).gates or []
    assert unmet_need(gate, reports) == unmet


def test_a_gate_need_passes_only_on_an_evaluated_report_without_substantive_findings() -> None:
    artifacts = next(g for g in parse_config(FOUR_GATES).gates or [] if g.name == "artifacts")
    passed = Report(findings=[finding(Classification.COSMETIC)])
    failed = Report(findings=[finding(Classification.SUBSTANTIVE)])
    assert unmet_need(artifacts, {"code-sync": passed}) is None
    assert unmet_need(artifacts, {"code-sync": Report(out_of_scope=True)}) is None
    assert unmet_need(artifacts, {"code-sync": failed}) == "`code-sync` failed; fix that first"
    assert unmet_need(artifacts, {"code-sync": Report(error="boom")}) == (
        "`code-sync` was not evaluated; fix that first"
    )
    # A re-run of this gate alone: the App started it because its gate needs pass.
    assert unmet_need(artifacts, {"code-sync": failed}, gates_too=False) is None
