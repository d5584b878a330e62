"""Match what one session reported against what its case expects. Pure: no I/O.

A reported finding matches an expected one when the paths are equal, the line ranges overlap
once each is widened by `TOLERANCE` lines, and the classifications agree. Kind agreement is
recorded on each match but is not needed for one: a drift reported as a contradiction was still
caught, and the scores say how often the kind was right on its own. Each expected finding
matches at most one reported finding and the other way round; the matching is a maximum one, so
an early greedy choice never costs a later hit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from action.report import Classification, Finding, Kind, Location

# Lines a reported range may sit away from the expected one and still match: a model may point
# at the heading above a paragraph, or at the line after a wrapped sentence.
TOLERANCE = 2


class Expected(BaseModel):
    """One finding a case expects, at its location in the PR head."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1)
    start_line: int = Field(ge=1)
    end_line: int = Field(ge=1)
    classification: Classification
    kind: Kind

    @model_validator(mode="after")
    def _ordered(self) -> Expected:
        if self.end_line < self.start_line:
            raise ValueError("end_line must not be before start_line")
        return self

    @property
    def substantive(self) -> bool:
        return self.classification is Classification.SUBSTANTIVE


@dataclass(frozen=True)
class Pair:
    """An expected finding and the reported one it matched (or nearly matched)."""

    expected: Expected
    reported: Finding

    @property
    def kind_agrees(self) -> bool:
        return self.expected.kind is self.reported.kind


@dataclass(frozen=True)
class CaseMatch:
    """The outcome of matching one run: hits, misses and extras.

    `misclassified` lists an expected and a reported finding at the same place whose
    classifications differ; each is also counted as a miss and an extra.
    """

    matches: tuple[Pair, ...]
    misses: tuple[Expected, ...]
    extras: tuple[Finding, ...]
    misclassified: tuple[Pair, ...] = ()


def _path(path: str) -> str:
    return path.removeprefix("./")


def gap(expected: Expected, location: Location) -> int:
    """Lines between the two ranges; 0 when they overlap."""
    return max(0, location.start_line - expected.end_line, expected.start_line - location.end_line)


def near(expected: Expected, location: Location, tolerance: int = TOLERANCE) -> bool:
    """Tell whether a reported location is at the expected place, within the tolerance."""
    return _path(expected.path) == _path(location.path) and gap(expected, location) <= tolerance


def _preference(expected: Expected, reported: Finding) -> tuple[int, int, int]:
    # The same kind first, then the closest range, then the closest start.
    return (
        expected.kind is not reported.kind,
        gap(expected, reported.location),
        abs(expected.start_line - reported.location.start_line),
    )


def _ranked(want: Expected, reported: Sequence[Finding], tolerance: int) -> list[int]:
    """The reported findings that could match `want`, the preferred first."""
    fits = [
        j
        for j, found in enumerate(reported)
        if found.classification is want.classification and near(want, found.location, tolerance)
    ]
    return sorted(fits, key=lambda j: (_preference(want, reported[j]), j))


def match(
    expected: Sequence[Expected], reported: Sequence[Finding], tolerance: int = TOLERANCE
) -> CaseMatch:
    """Match one run's reported findings to its case's expected ones."""
    candidates = [_ranked(want, reported, tolerance) for want in expected]
    owner: dict[int, int] = {}  # reported index -> expected index

    def augment(i: int, seen: set[int]) -> bool:
        # Kuhn's augmenting path: take a free candidate, or move its owner to another one.
        for j in candidates[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(len(expected)):
        augment(i, set())
    matched = {i: j for j, i in owner.items()}
    pairs = tuple(Pair(expected[i], reported[matched[i]]) for i in sorted(matched))
    misses = [i for i in range(len(expected)) if i not in matched]
    extras = [j for j in range(len(reported)) if j not in owner]
    return CaseMatch(
        matches=pairs,
        misses=tuple(expected[i] for i in misses),
        extras=tuple(reported[j] for j in extras),
        misclassified=_misclassified(expected, reported, misses, extras, tolerance),
    )


def _misclassified(
    expected: Sequence[Expected],
    reported: Sequence[Finding],
    misses: list[int],
    extras: list[int],
    tolerance: int,
) -> tuple[Pair, ...]:
    """Pair the misses and extras that sit at the same place with the other classification."""
    left = list(extras)
    pairs = []
    for i in misses:
        close = [j for j in left if near(expected[i], reported[j].location, tolerance)]
        if close:
            j = min(close, key=lambda j: (_preference(expected[i], reported[j]), j))
            left.remove(j)
            pairs.append(Pair(expected[i], reported[j]))
    return tuple(pairs)
