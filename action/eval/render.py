"""Render an eval's result for people: the scores, then one row per case, then what went wrong."""

from __future__ import annotations

from action.eval.results import CaseOut, ClassScore, EvalResult, Score
from action.markdown import shorten


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _score_row(label: str, s: Score) -> list[str]:
    return [
        label,
        _num(s.precision),
        _num(s.recall),
        _num(s.f1),
        str(s.matched),
        str(s.reported),
        str(s.expected),
    ]


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _class_rows(name: str, s: ClassScore) -> list[list[str]]:
    rows = [_score_row(name, s)]
    rows += [_score_row(f"  {k}", ks) for k, ks in s.per_kind.items() if ks.expected or ks.reported]
    return rows


def _case_row(c: CaseOut) -> list[str]:
    done = [r for r in c.runs if r.evaluated]
    runs = len(c.runs)

    def mean(total: float) -> float:
        return total / runs if runs else 0.0

    return [
        c.name,
        "clean" if c.clean else str(c.expected),
        f"{len(done)}/{runs}",
        str(sum(r.matched for r in done)),
        str(sum(r.missed for r in done)),
        str(sum(r.extra for r in done)),
        str(sum(r.blocking for r in done)) if c.clean else "",
        f"{mean(sum(r.turns for r in c.runs)):.0f}",
        f"{mean(sum(r.tokens for r in c.runs)):.0f}",
        f"${mean(sum(r.cost_usd for r in c.runs)):.4f}",
        f"{mean(sum(r.duration_ms for r in c.runs)) / 1000:.1f}s",
    ]


def table(result: EvalResult) -> str:
    """The plain-text report of an eval."""
    out = [
        f"canon-gate eval: {result.corpus}: {_plural(result.cases_total, 'case')} x "
        f"{_plural(result.samples, 'sample')}, {result.evaluated} of {result.runs} runs "
        "evaluated" + (f", gate {result.gate}" if result.gate else ""),
        "",
    ]
    if result.evaluated == 0:
        out += ["No score: no run was evaluated.", ""]
    else:
        head = ["", "PRECISION", "RECALL", "F1", "MATCHED", "REPORTED", "EXPECTED"]
        rows = [head, *_class_rows("substantive", result.substantive)]
        rows += _class_rows("cosmetic", result.cosmetic)
        out += _columns(rows)
        out += [
            "",
            f"kind agreement (substantive matches): {_num(result.kind_agreement)}",
            f"clean controls: {_plural(result.clean_controls, 'case')}, blocking rate "
            f"{_num(result.clean_blocking_rate)} ({result.clean_blocked} of {result.clean_runs} "
            "runs blocked)",
            f"evidence verified: {_num(result.evidence_verified_rate)} "
            f"({result.evidence_verified} of {result.evidence_quotes} quotes)",
        ]
        vote = result.without_verification
        if vote is not None:
            out.append(
                f"without the verification vote ({vote.refuted} findings refuted, "
                f"${vote.cost_usd:.4f}): precision {_num(vote.precision)}, recall "
                f"{_num(vote.recall)}, F1 {_num(vote.f1)}, clean blocking rate "
                f"{_num(vote.clean_blocking_rate)}"
            )
        if result.spread:
            out.append(f"spread across {result.samples} samples:")
            out += [
                f"  {name}: min {_num(s.min)} max {_num(s.max)} mean {_num(s.mean)} "
                f"stdev {_num(s.stdev)}"
                for name, s in result.spread.items()
            ]
        out.append("")
    head = ["CASE", "EXPECT", "RUNS", "HIT", "MISS", "EXTRA", "BLOCKED", "TURNS", "TOKENS"]
    rows = [[*head, "COST", "TIME"], *(_case_row(c) for c in result.cases)]
    out += _columns(rows)
    if result.samples > 1:
        out.append("(turns, tokens, cost and time are means per run)")
    t = result.totals
    out += [
        f"total: {t.turns} turns, {t.tokens} tokens, ${t.cost_usd:.4f} API-equivalent, "
        f"{t.duration_ms / 1000:.1f}s",
    ]
    wrong = []
    for c in result.cases:
        wrong += [
            f"  {c.name} #{m.sample}: missed {m.classification.value} {m.kind.value} at "
            f"{m.path}:{m.start_line}-{m.end_line}"
            for m in c.misses
        ]
        wrong += [
            f"  {c.name} #{x.sample}: extra {x.classification.value} {x.kind.value} at "
            f"{x.path}:{x.start_line}-{x.end_line}: {shorten(x.claim, 80)}"
            for x in c.extras
        ]
    if wrong:
        out += ["", "misses and extras:", *wrong]
    if result.not_evaluated:
        out += ["", "not evaluated (counted as neither hit, miss nor pass):"]
        out += [
            f"  {n.case} #{n.sample}: {n.error_kind.value if n.error_kind else 'error'}: "
            f"{shorten(n.reason, 160)}"
            for n in result.not_evaluated
        ]
    return "\n".join(out)
