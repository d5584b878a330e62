"""Finding ids rest on the source sentence a quote sits in, not on the model's wording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from action.audit.evidence import Sources, locate
from action.audit.findings import RawFinding, to_finding
from action.canon.checkout import Checkout
from action.canon.model import load_canon
from tests.action.support import make_checkouts, write_tree

URI = "klappy://canon/constraints/audit-gates-are-spawned-agent-sessions"
PAGE = """\
# Gate
The merge gate is a script. It runs a regex over the diff
and decides alone. Hints are advisory.
"""


def finding_id(sources: Sources, quotes: list[tuple[str, str]], **extra: Any) -> str:
    raw = {
        "classification": "substantive",
        "kind": "contradiction",
        "path": "docs/gate.md",
        "claim": "claim",
        "evidence": [{"quote": q, "source": s} for q, s in quotes],
        "canon": [URI],
        **extra,
    }
    return to_finding(RawFinding.model_validate(raw), sources).id


def sources_for(tmp_path: Path, page: str) -> Sources:
    base, head = make_checkouts(tmp_path)
    write_tree(head, {"docs/gate.md": page})
    return Sources(load_canon(Checkout(base), ["canon"]), base, head, "b", "h")


def test_locate_anchors_on_the_sentence_in_the_line() -> None:
    assert locate(PAGE, "runs a regex over") == (2, "it runs a regex over the diff")
    assert locate(PAGE, "+The merge gate") == (2, "the merge gate is a script.")
    # A quote across a line end rests on the line that holds its middle.
    assert locate(PAGE, "the diff and decides alone") == (2, "and decides alone.")
    assert locate(PAGE, "not there") is None


def test_id_survives_the_model_rewording_its_quotes(tmp_path: Path) -> None:
    sources = sources_for(tmp_path, PAGE)
    canon = ("MUST NOT serve as the gate", URI)
    first = finding_id(sources, [("It runs a regex over the diff", "docs/gate.md"), canon])
    for quote in (
        "runs a regex",  # trimmed
        "script. It runs a regex over the diff",  # extended (the middle stays put)
        "+It runs a REGEX\n+over the diff",  # diff markers, re-cased, re-wrapped
    ):
        assert finding_id(sources, [(quote, "docs/gate.md"), canon]) == first, quote
    # Evidence order, the canon quote's wording and line numbers do not matter either.
    assert finding_id(sources, [canon, ("runs a regex", "docs/gate.md")], start_line=9) == first
    shifted = sources_for(tmp_path / "shifted", "<!-- new -->\n\n" + PAGE)
    assert finding_id(shifted, [("runs a regex", "docs/gate.md"), canon]) == first


def test_distinct_findings_keep_distinct_ids(tmp_path: Path) -> None:
    sources = sources_for(tmp_path, PAGE)
    ids = {
        finding_id(sources, [("The merge gate is a script", "docs/gate.md")]),
        finding_id(sources, [("It runs a regex", "docs/gate.md")]),  # same line, next sentence
        finding_id(sources, [("decides alone", "docs/gate.md")]),
        finding_id(sources, [("Hints are advisory", "docs/gate.md")]),
        finding_id(sources, [("It runs a regex", "docs/gate.md")], kind="drift"),
        finding_id(sources, [("invented words", "docs/gate.md")]),  # unverified: its own text
    }
    assert len(ids) == 6
