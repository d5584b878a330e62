"""Score a corpus run: precision, recall and F1, the clean-control blocking rate, evidence, spread.

Pure: it reads reports and cases, and returns one `EvalResult` that the table and `--json` both
render. Counts are summed over every evaluated run (every case times every sample) before any
ratio is taken. A run that was not evaluated is listed with its reason and counted nowhere else:
never a pass, a miss or a hit. A ratio with nothing to count is None (JSON null), never 0 or 1.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from action.eval.corpus import Case
from action.eval.match import CaseMatch, Expected, Pair, match
from action.eval.results import (
    CaseOut,
    ClassScore,
    EvalResult,
    ExpectedOut,
    KindScore,
    MatchOut,
    NotEvaluated,
    ReportedOut,
    RunOut,
    Spread,
    Totals,
    WithoutVote,
)
from action.report import Classification, Finding, Kind, Report


@dataclass(frozen=True)
class Run:
    """One session over one case: the case, which sample, and the report it wrote."""

    case: Case
    sample: int
    report: Report


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def f1_of(precision: float | None, recall: float | None, anything: bool) -> float | None:
    """The harmonic mean; 0 when something was expected or reported and one side is undefined."""
    if not anything:
        return None
    if precision is None or recall is None or precision + recall == 0:
        return 0.0
    return round(2 * precision * recall / (precision + recall), 4)


@dataclass(frozen=True)
class _Scored:
    run: Run
    outcome: CaseMatch


def _tokens(report: Report) -> int:
    u = report.run.usage
    return (
        u.input_tokens + u.output_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens
    )


def _expected_out(sample: int, e: Expected) -> ExpectedOut:
    return ExpectedOut(sample=sample, **e.model_dump())


def _reported_out(sample: int, f: Finding) -> ReportedOut:
    loc = f.location
    return ReportedOut(
        sample=sample,
        id=f.id,
        path=loc.path,
        start_line=loc.start_line,
        end_line=loc.end_line,
        classification=f.classification,
        kind=f.kind,
        claim=f.claim,
    )


def _match_out(sample: int, p: Pair) -> MatchOut:
    return MatchOut(
        sample=sample,
        expected=_expected_out(sample, p.expected),
        reported=_reported_out(sample, p.reported),
        kind_agrees=p.kind_agrees,
    )


def class_score(scored: Sequence[_Scored], cls: Classification) -> ClassScore:
    """One classification's score over every evaluated run, overall and per kind."""
    expected = [e for s in scored for e in s.run.case.expect if e.classification is cls]
    reported = [f for s in scored for f in s.run.report.findings if f.classification is cls]
    pairs = [p for s in scored for p in s.outcome.matches if p.expected.classification is cls]

    def kind(k: Kind) -> KindScore:
        want = sum(e.kind is k for e in expected)
        said = sum(f.kind is k for f in reported)
        caught = [p for p in pairs if p.expected.kind is k]
        named = sum(p.reported.kind is k for p in pairs)
        p, r = ratio(named, said), ratio(len(caught), want)
        return KindScore(
            expected=want,
            reported=said,
            matched=len(caught),
            precision=p,
            recall=r,
            f1=f1_of(p, r, bool(want or said)),
            kind_agreement=ratio(sum(c.kind_agrees for c in caught), len(caught)),
        )

    p, r = ratio(len(pairs), len(reported)), ratio(len(pairs), len(expected))
    return ClassScore(
        expected=len(expected),
        reported=len(reported),
        matched=len(pairs),
        precision=p,
        recall=r,
        f1=f1_of(p, r, bool(expected or reported)),
        kind_agreement=ratio(sum(c.kind_agrees for c in pairs), len(pairs)),
        per_kind={k.value: kind(k) for k in Kind},
    )


def _blocks(report: Report) -> bool:
    return any(f.blocks for f in report.findings)


def _spread(
    scored: Sequence[_Scored], samples: int, measure: Callable[[Sequence[_Scored]], float | None]
) -> Spread | None:
    values = [
        v
        for n in range(1, samples + 1)
        if (v := measure([s for s in scored if s.run.sample == n])) is not None
    ]
    if not values:
        return None
    return Spread(
        min=min(values),
        max=max(values),
        mean=round(statistics.fmean(values), 4),
        stdev=round(statistics.pstdev(values), 4),
    )


def _clean_rate(scored: Sequence[_Scored]) -> float | None:
    clean = [s for s in scored if s.run.case.clean]
    return ratio(sum(_blocks(s.run.report) for s in clean), len(clean))


def _case_out(case: Case, runs: Sequence[Run], scored: Sequence[_Scored]) -> CaseOut:
    mine = [s for s in scored if s.run.case.name == case.name]
    outs = []
    for run in runs:
        report = run.report
        got = next((s.outcome for s in mine if s.run is run), None)
        outs.append(
            RunOut(
                sample=run.sample,
                evaluated=report.evaluated,
                error=report.error,
                error_kind=report.error_kind,
                matched=len(got.matches) if got else 0,
                missed=len(got.misses) if got else 0,
                extra=len(got.extras) if got else 0,
                blocking=report.evaluated and _blocks(report),
                turns=report.run.turns,
                tokens=_tokens(report),
                cost_usd=report.run.cost_usd,
                duration_ms=report.run.duration_ms,
            )
        )
    shapes = {
        (
            frozenset((p.expected, p.reported.classification) for p in s.outcome.matches),
            len(s.outcome.extras),
        )
        for s in mine
    }
    return CaseOut(
        name=case.name,
        tags=list(case.tags),
        clean=case.clean,
        expected=len(case.expect),
        runs=outs,
        matches=[_match_out(s.run.sample, p) for s in mine for p in s.outcome.matches],
        misses=[_expected_out(s.run.sample, e) for s in mine for e in s.outcome.misses],
        extras=[_reported_out(s.run.sample, f) for s in mine for f in s.outcome.extras],
        misclassified=[_match_out(s.run.sample, p) for s in mine for p in s.outcome.misclassified],
        stable=len(shapes) == 1 if len(mine) > 1 else None,
    )


def score(
    corpus: str, cases: Sequence[Case], runs: Sequence[Run], samples: int, gate: str | None = None
) -> EvalResult:
    """Score every run of a corpus; runs not evaluated are listed, and counted nowhere else.

    When the verification vote ran, a refuted finding blocks nothing, so the scores count it as
    not reported; `without_verification` gives the same scores as if no vote had run.
    """
    if not any(r.report.verification is not None for r in runs):
        return _score(corpus, cases, runs, samples, gate)
    voted = [Run(r.case, r.sample, _standing(r.report)) for r in runs]
    raw = _score(corpus, cases, runs, samples, gate)
    refuted = sum(f.refuted for r in runs if r.report.evaluated for f in r.report.findings)
    cost = sum(r.report.verification.cost_usd for r in runs if r.report.verification)
    without = WithoutVote(
        precision=raw.precision,
        recall=raw.recall,
        f1=raw.f1,
        clean_blocking_rate=raw.clean_blocking_rate,
        refuted=refuted,
        cost_usd=round(cost, 6),
    )
    result = _score(corpus, cases, voted, samples, gate)
    return result.model_copy(update={"without_verification": without})


def _standing(report: Report) -> Report:
    """The report as it blocks: the findings the vote refuted left out."""
    return report.model_copy(update={"findings": [f for f in report.findings if not f.refuted]})


def _score(
    corpus: str, cases: Sequence[Case], runs: Sequence[Run], samples: int, gate: str | None
) -> EvalResult:
    scored = [
        _Scored(r, match(r.case.expect, r.report.findings)) for r in runs if r.report.evaluated
    ]
    substantive = class_score(scored, Classification.SUBSTANTIVE)
    cosmetic = class_score(scored, Classification.COSMETIC)
    clean = [s for s in scored if s.run.case.clean]
    quotes = [e for s in scored for f in s.run.report.findings for e in f.evidence]
    verified = sum(e.verified for e in quotes)
    spread = None
    if samples > 1:
        measures: dict[str, Callable[[Sequence[_Scored]], float | None]] = {
            "precision": lambda part: class_score(part, Classification.SUBSTANTIVE).precision,
            "recall": lambda part: class_score(part, Classification.SUBSTANTIVE).recall,
            "f1": lambda part: class_score(part, Classification.SUBSTANTIVE).f1,
            "clean_blocking_rate": _clean_rate,
        }
        spread = {
            name: found
            for name, measure in measures.items()
            if (found := _spread(scored, samples, measure)) is not None
        }
    return EvalResult(
        corpus=corpus,
        gate=gate,
        samples=samples,
        cases_total=len(cases),
        runs=len(runs),
        evaluated=len(scored),
        precision=substantive.precision,
        recall=substantive.recall,
        f1=substantive.f1,
        per_kind=substantive.per_kind,
        kind_agreement=substantive.kind_agreement,
        substantive=substantive,
        cosmetic=cosmetic,
        clean_controls=sum(c.clean for c in cases),
        clean_runs=len(clean),
        clean_blocked=sum(_blocks(s.run.report) for s in clean),
        clean_blocking_rate=_clean_rate(scored),
        evidence_quotes=len(quotes),
        evidence_verified=verified,
        evidence_verified_rate=ratio(verified, len(quotes)),
        not_evaluated=[
            NotEvaluated(
                case=r.case.name,
                sample=r.sample,
                error_kind=r.report.error_kind,
                reason=r.report.error or "",
            )
            for r in runs
            if not r.report.evaluated
        ],
        spread=spread,
        totals=Totals(
            turns=sum(r.report.run.turns for r in runs),
            tokens=sum(_tokens(r.report) for r in runs),
            cost_usd=round(sum(r.report.run.cost_usd for r in runs), 6),
            duration_ms=sum(r.report.run.duration_ms for r in runs),
        ),
        cases=[_case_out(c, [r for r in runs if r.case.name == c.name], scored) for c in cases],
    )
