"""The shape of what `canon-gate eval` reports: the table and `--json` render these models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from action.report import Classification, ErrorKind, Kind


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Score(_Out):
    """Precision, recall and F1 over a set of findings, with the counts behind them."""

    expected: int
    reported: int
    matched: int
    precision: float | None
    recall: float | None
    f1: float | None


class KindScore(Score):
    """One kind's score: recall over the expected findings of the kind (caught under any kind),
    precision over the reported findings of the kind, and how often a catch named the kind."""

    kind_agreement: float | None


class ClassScore(Score):
    """One classification's score, overall and per kind."""

    kind_agreement: float | None
    per_kind: dict[str, KindScore]


class Spread(_Out):
    min: float
    max: float
    mean: float
    stdev: float


class ExpectedOut(_Out):
    sample: int
    path: str
    start_line: int
    end_line: int
    classification: Classification
    kind: Kind


class ReportedOut(_Out):
    sample: int
    id: str
    path: str
    start_line: int
    end_line: int
    classification: Classification
    kind: Kind
    claim: str


class MatchOut(_Out):
    sample: int
    expected: ExpectedOut
    reported: ReportedOut
    kind_agrees: bool


class RunOut(_Out):
    """One run of a case: its outcome and what it cost."""

    sample: int
    evaluated: bool
    error: str | None = None
    error_kind: ErrorKind | None = None
    matched: int = 0
    missed: int = 0
    extra: int = 0
    blocking: bool = False
    turns: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    duration_ms: int = 0


class CaseOut(_Out):
    name: str
    tags: list[str]
    clean: bool
    expected: int
    runs: list[RunOut]
    # Over every evaluated sample; each item names its sample.
    matches: list[MatchOut]
    misses: list[ExpectedOut]
    extras: list[ReportedOut]
    misclassified: list[MatchOut]
    # Every evaluated sample found the same matches and extras (None: fewer than two evaluated).
    stable: bool | None


class NotEvaluated(_Out):
    case: str
    sample: int
    error_kind: ErrorKind | None
    reason: str


class Totals(_Out):
    turns: int
    tokens: int
    cost_usd: float
    duration_ms: int


class WithoutVote(_Out):
    """The headline scores had no finding been refuted: what the vote changed, and its cost."""

    precision: float | None
    recall: float | None
    f1: float | None
    clean_blocking_rate: float | None
    # Findings the vote refuted, over every evaluated run; and what the vote cost in all.
    refuted: int
    cost_usd: float


class EvalResult(_Out):
    """Everything `canon-gate eval` says; `--json` prints it as one object."""

    corpus: str
    gate: str | None
    samples: int
    cases_total: int
    runs: int
    evaluated: int
    # Substantive findings, the ones that block: the headline.
    precision: float | None
    recall: float | None
    f1: float | None
    per_kind: dict[str, KindScore]
    kind_agreement: float | None
    substantive: ClassScore
    cosmetic: ClassScore
    # Cases that expect no substantive finding (a PR that should merge), their evaluated runs,
    # and how many of those runs a substantive finding would have blocked.
    clean_controls: int
    clean_runs: int
    clean_blocked: int
    clean_blocking_rate: float | None
    evidence_quotes: int
    evidence_verified: int
    evidence_verified_rate: float | None
    not_evaluated: list[NotEvaluated]
    # Across samples (each sample is one pass over the corpus); None with one sample.
    spread: dict[str, Spread] | None
    totals: Totals
    cases: list[CaseOut]
    # When `verify` ran a vote: the scores above count refuted findings as not reported (they
    # block nothing), and these are the same scores without the vote.
    without_verification: WithoutVote | None = None
