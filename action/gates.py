"""The runner's view of gates: which gates a run audits and in which wave, what config each gate
sees, and whether a gate's needs passed. Pure.

A config without `gates` has one gate, `canon-gate`, with the built-in role and the top-level
`audit`, `model` and `limits`. A configured gate brings its own paths, model and limits (each unset
limit falls back to the top-level one) and its persona: canon documents whose text is its task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from action.config import AuditScope, Config, Gate
from action.report import DEFAULT_GATE, STRUCTURE, Report


def gate_names(config: Config) -> tuple[str, ...]:
    """The gates the config defines, in its order; the one default gate when none."""
    return tuple(g.name for g in config.gates) if config.gates else (DEFAULT_GATE,)


def find_gate(config: Config, name: str) -> Gate | None:
    return next((g for g in config.gates or () if g.name == name), None)


def gate_config(config: Config, name: str) -> Config:
    """The config as one gate sees it: its paths as the audit's scope, its model and limits."""
    gate = find_gate(config, name)
    if gate is None:
        return config
    own = {k: v for k, v in gate.limits.model_dump().items() if v is not None}
    return config.model_copy(
        update={
            "model": gate.model or config.model,
            "limits": config.limits.model_copy(update=own),
            "audit": AuditScope(paths=gate.paths, exclude=gate.exclude),
        }
    )


def waves(config: Config, only: str = "") -> tuple[list[str], list[str]]:
    """The gates a run audits: those that need nothing or only the structural check first, then
    those that need a gate of the first wave (the config allows no deeper chain).

    A run for one gate (`only`, a re-run) audits that gate alone, in the first wave: the App
    starts it when its gate needs pass, or a person asked for it.
    """
    names = gate_names(config)
    if only:
        return ([only] if only in names else []), []
    first = [g.name for g in config.gates or () if not [n for n in g.needs if n != STRUCTURE]]
    later = [g.name for g in config.gates or () if g.name not in first]
    return (first if config.gates else [DEFAULT_GATE]), later


def unmet_need(
    gate: Gate | None, reports: Mapping[str, Report | None], *, gates_too: bool = True
) -> str | None:
    """Why a gate may not start its session yet (a need did not pass), or None.

    `reports` are the needs' reports of this run, by gate name (`structure` for the structural
    check); a need without one did not pass. A gate need passes when its report was evaluated and
    found nothing substantive, or the change was out of its scope. Waivers are the App's: a need
    that passes only by a waiver fails here, and the App starts this gate once the waiver lands.
    With `gates_too` false (a re-run of this gate alone), only the structural need is checked.
    """
    for need in gate.needs if gate is not None else ():
        if need != STRUCTURE and not gates_too:
            continue
        report = reports.get(need)
        if report is None:
            return f"`{need}` did not report in this run; fix that first"
        if need == STRUCTURE:
            if report.structure:
                count = len(report.structure)
                what = "problem" if count == 1 else "problems"
                return f"`{STRUCTURE}` failed ({count} {what}); fix that first"
            continue
        if not report.evaluated:
            return f"`{need}` was not evaluated; fix that first"
        if not report.out_of_scope and any(f.blocks for f in report.findings):
            return f"`{need}` failed; fix that first"
    return None


def needs_of(config: Config, names: Sequence[str]) -> set[str]:
    """Every need of the named gates: the reports a run must hand them."""
    return {n for name in names if (g := find_gate(config, name)) for n in g.needs}


def persona_of(config: Config, name: str) -> list[str]:
    """The canon documents a gate names as its task; none for the default gate's built-in role."""
    gate = find_gate(config, name)
    return list(gate.persona) if gate is not None else []
