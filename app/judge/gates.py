"""Several gates per repository: which gates an audit concludes, which job may judge each one,
and the aggregate `canon-gate` check over them. Pure: the handler fetches the jobs and runs.

A repository without `gates` has one gate, `canon-gate` itself, and nothing here changes that.
With gates, each has its own check run `canon-gate/<name>`, concluded from its own job's report,
and `canon-gate` becomes their aggregate: failure, then action required, then success; neutral
when no gate was in scope. A ruleset that requires `canon-gate` keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from action.config import AppConfig
from action.markdown import inline, shorten
from action.report import DEFAULT_GATE, STRUCTURE, check_name, gate_job_name
from app.events import CheckRun
from app.judge import outcomes, render
from app.judge.checkrun import CheckRunResult, Conclusion
from app.judge.correlate import parse_external_id
from app.judge.links import Links
from app.judge.outcomes import NOT_RUN_PREFIX, WOULD_HAVE_FAILED

_NO_LINKS = Links()
_PASSING = frozenset({"success", "neutral"})


def gates_of(config: AppConfig) -> tuple[str, ...]:
    """The gates a config defines, in its order; the one default gate when it defines none."""
    return tuple(g.name for g in config.gates) if config.gates else (DEFAULT_GATE,)


def judging_job(gate: str, jobs: Mapping[str, str | None]) -> str | None:
    """How the job that runs `gate` ended ("in_progress" if it had not), or None without one.

    Only a gate's own job may judge it, whatever it decided (a session, out of scope, a need
    not met): another job's failure must not fail this gate, nor its success pass it.
    """
    own = gate_job_name(gate)
    if own not in jobs:
        return None
    return jobs[own] or "in_progress"


@dataclass(frozen=True)
class GateVerdict:
    """One gate's newest verdict under the audit's governance, as the aggregate reads it."""

    gate: str
    # None while the gate has no concluded run under this governance.
    conclusion: str | None
    title: str = ""
    url: str | None = None


def newest_verdicts(
    runs: Sequence[CheckRun], gates: Sequence[str], *, pr: int, keys: Mapping[str, str]
) -> list[GateVerdict]:
    """Each gate's newest run (of `runs`, newest first) for PR `pr` under its governance key."""
    verdicts = []
    for gate in gates:
        name = check_name(gate)
        found = next(
            (
                r
                for r in runs
                if r.name == name
                and (key := parse_external_id(r.external_id)) is not None
                and key.pr == pr
                and key.governance == keys.get(gate)
            ),
            None,
        )
        if found is None:
            verdicts.append(GateVerdict(gate, None))
            continue
        done = found.status == "completed"
        verdicts.append(
            GateVerdict(
                gate,
                found.conclusion if done else None,
                found.output.title or "",
                found.html_url,
            )
        )
    return verdicts


def aggregate_conclusion(conclusions: Sequence[str | None]) -> Conclusion:
    """Failure first, then action required (a gate not concluded counts so), then success;
    neutral only when every gate was out of scope."""
    if any(c is not None and c not in _PASSING and c != "action_required" for c in conclusions):
        return "failure"
    if any(c is None or c == "action_required" for c in conclusions):
        return "action_required"
    if any(c == "success" for c in conclusions):
        return "success"
    return "neutral"


def _as_judged(v: GateVerdict) -> GateVerdict:
    """An advisory gate's neutral "would have failed" counts as the failure it would be."""
    if v.conclusion == "neutral" and v.title.startswith(WOULD_HAVE_FAILED):
        return replace(v, conclusion="failure")
    return v


def aggregate(
    verdicts: Sequence[GateVerdict], links: Links = _NO_LINKS, *, advisory: bool = False
) -> CheckRunResult:
    """The `canon-gate` run over the gates: no annotations of its own; it links to the gates.

    In `mode: advisory` a failing aggregate concludes neutral, saying it would have failed.
    """
    shown = verdicts
    verdicts = [_as_judged(v) for v in verdicts]
    conclusion = aggregate_conclusion([v.conclusion for v in verdicts])
    failed = [v.gate for v in verdicts if v.conclusion not in (*_PASSING, "action_required", None)]
    waiting = [v.gate for v in verdicts if v.conclusion in (None, "action_required")]
    passed = [v.gate for v in verdicts if v.conclusion == "success"]
    icon, title = {
        "failure": ("❌", f"{render.plural(len(failed), 'gate')} failed: {', '.join(failed)}"),
        "action_required": (
            "⏳",
            f"{render.plural(len(waiting), 'gate')} need attention: {', '.join(waiting)}",
        ),
        "success": ("✅", f"{render.plural(len(passed), 'gate')} passed"),
        "neutral": ("⚪", "No gate is in scope for this change"),
    }[conclusion]

    def row(v: GateVerdict) -> str:
        name = inline(check_name(v.gate))
        shown = f"[{name}]({v.url})" if v.url else name
        said = inline(v.title) if v.title else "—"
        return f"| {shown} | {v.conclusion or 'not concluded'} | {said} |"

    parts = [
        render.headline(icon, title),
        "This check combines the repository's gates; each gate's own check run holds its "
        "findings. A ruleset may require this check, or the gates one by one.",
        "\n".join(["| Gate | Conclusion | Verdict |", "| --- | --- | --- |", *map(row, shown)]),
        links.markdown(),
    ]
    result = CheckRunResult(
        conclusion=conclusion,
        title=shorten(title, render.MAX_TITLE),
        summary=render.page(parts, links),
    )
    return outcomes.advisory(result) if advisory else result


def ready_to_run(verdicts: Sequence[GateVerdict], config: AppConfig) -> tuple[str, ...]:
    """The gates that were not run because a need failed, and whose gate needs pass now (a
    re-run of the need, or a waiver): each runs again by itself. A `structure` need is checked
    again by the run itself."""
    passed = {v.gate for v in verdicts if v.conclusion in _PASSING}
    needs = {g.name: [n for n in g.needs if n != STRUCTURE] for g in config.gates or ()}
    return tuple(
        v.gate
        for v in verdicts
        if v.conclusion == "action_required"
        and v.title.startswith(NOT_RUN_PREFIX)
        and needs.get(v.gate)
        and all(n in passed for n in needs[v.gate])
    )
