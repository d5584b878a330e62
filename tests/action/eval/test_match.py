"""Matching reported findings to expected ones: path, lines within the tolerance, classification."""

from __future__ import annotations

from typing import Any

import pytest

from action.eval.match import TOLERANCE, Expected, match
from action.report import Classification, Finding, Kind, Location


def expected(start: int, end: int | None = None, **over: Any) -> Expected:
    fields = {
        "path": "docs/a.md",
        "start_line": start,
        "end_line": end or start,
        "classification": "substantive",
        "kind": "drift",
    }
    return Expected.model_validate(fields | over)


def reported(start: int, end: int | None = None, **over: Any) -> Finding:
    return Finding(
        id=f"cg-{start:010x}",
        classification=Classification(over.get("classification", "substantive")),
        kind=Kind(over.get("kind", "drift")),
        location=Location(
            path=over.get("path", "docs/a.md"), start_line=start, end_line=end or start
        ),
        claim="c",
    )


@pytest.mark.parametrize(
    ("start", "end", "hit"),
    [
        (10, 12, True),  # inside
        (8, 8, True),  # the heading two lines above
        (7, 7, False),  # three lines above
        (14, 20, True),  # starts two lines after the end
        (15, 15, False),
        (1, 40, True),  # a wide range around it
    ],
)
def test_lines_match_within_the_tolerance(start: int, end: int, hit: bool) -> None:
    assert TOLERANCE == 2
    outcome = match([expected(10, 12)], [reported(start, end)])
    assert bool(outcome.matches) is hit
    assert len(outcome.misses) == len(outcome.extras) == (0 if hit else 1)


def test_paths_must_be_equal() -> None:
    outcome = match([expected(3)], [reported(3, path="docs/b.md")])
    assert not outcome.matches
    assert match([expected(3)], [reported(3, path="./docs/a.md")]).matches


def test_classification_must_agree_and_kind_is_reported_on_its_own() -> None:
    outcome = match([expected(3)], [reported(3, classification="cosmetic")])
    assert not outcome.matches
    assert (len(outcome.misses), len(outcome.extras)) == (1, 1)
    assert len(outcome.misclassified) == 1
    other_kind = match([expected(3)], [reported(3, kind="contradiction")])
    assert [p.kind_agrees for p in other_kind.matches] == [False]


def test_each_finding_matches_once_and_the_matching_is_maximal() -> None:
    # A greedy pass would give the wide finding to the first expected one and miss the second.
    wide, narrow = reported(1, 12), reported(3)
    outcome = match([expected(3), expected(10)], [narrow, wide])
    assert len(outcome.matches) == 2
    twice = match([expected(3)], [reported(3), reported(4)])
    assert (len(twice.matches), len(twice.extras)) == (1, 1)


def test_the_same_kind_is_preferred() -> None:
    outcome = match([expected(3)], [reported(3, kind="other"), reported(4)])
    assert outcome.matches[0].reported.location.start_line == 4
    assert outcome.matches[0].kind_agrees


def test_an_expected_range_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="end_line"):
        expected(5, 4)
