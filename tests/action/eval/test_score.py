"""Scoring is exact and honest: counted over evaluated runs only, undefined ratios are None."""

from __future__ import annotations

from pathlib import Path

from action.eval.cli import exit_status
from action.eval.corpus import Case
from action.eval.match import Expected
from action.eval.render import table
from action.eval.score import Run, score
from action.report import (
    Classification,
    ErrorKind,
    Evidence,
    Finding,
    Kind,
    Location,
    Report,
)


def want(line: int, cls: str = "substantive", kind: str = "drift") -> Expected:
    return Expected(
        path="a.md",
        start_line=line,
        end_line=line,
        classification=Classification(cls),
        kind=Kind(kind),
    )


def said(
    line: int, cls: str = "substantive", kind: str = "drift", verified: bool = True
) -> Finding:
    return Finding(
        id=f"cg-{line:010x}",
        classification=Classification(cls),
        kind=Kind(kind),
        location=Location(path="a.md", start_line=line, end_line=line),
        claim="c",
        evidence=[Evidence(quote="q", source="a.md", verified=verified)],
    )


def case(name: str, *expect: Expected) -> Case:
    return Case(name, Path(name), "d", tuple(expect))


def test_cosmetic_and_substantive_are_scored_apart() -> None:
    typo = case("typo", want(2, "cosmetic", "other"))
    drift = case("drift", want(5), want(9, kind="contradiction"))
    runs = [
        Run(typo, 1, Report(findings=[said(2, "cosmetic", "other")])),
        Run(drift, 1, Report(findings=[said(5), said(30, verified=False)])),
    ]
    result = score("c", [typo, drift], runs, samples=1)
    assert (result.precision, result.recall, result.f1) == (0.5, 0.5, 0.5)
    assert (result.cosmetic.precision, result.cosmetic.recall) == (1.0, 1.0)
    assert result.per_kind["contradiction"].recall == 0.0
    assert result.per_kind["contradiction"].precision is None
    assert (result.evidence_verified, result.evidence_quotes) == (2, 3)
    # A cosmetic-only case expects nothing that blocks: it is a clean control, and passed.
    assert (result.clean_controls, result.clean_blocked, result.clean_blocking_rate) == (1, 0, 0.0)
    assert exit_status(result, 0.5) == 0
    assert exit_status(result, 0.6) == 1


def test_a_run_not_evaluated_is_counted_nowhere_else() -> None:
    drift = case("drift", want(5))
    clean = case("clean")
    failed = Report(error="the session hit the wall-clock limit", error_kind=ErrorKind.SESSION)
    runs = [Run(drift, 1, failed), Run(clean, 1, Report())]
    result = score("c", [drift, clean], runs, samples=1)
    assert result.evaluated == 1
    assert (result.substantive.expected, result.substantive.reported) == (0, 0)
    assert result.precision is None
    assert result.recall is None
    assert result.f1 is None
    assert [n.reason for n in result.not_evaluated] == ["the session hit the wall-clock limit"]
    assert result.cases[0].misses == []
    # F1 cannot be measured: a bar cannot be shown to be met.
    assert exit_status(result, None) == 0
    assert exit_status(result, 0.1) == 1


def test_nothing_evaluated_has_no_score() -> None:
    drift = case("drift", want(5))
    failed = Report(error="no model credential", error_kind=ErrorKind.NO_CREDENTIALS)
    result = score("c", [drift], [Run(drift, 1, failed)], samples=1)
    assert exit_status(result, None) == 3
    text = table(result)
    assert "No score: no run was evaluated." in text
    assert "PRECISION" not in text
    assert "drift #1: no_credentials: no model credential" in text
