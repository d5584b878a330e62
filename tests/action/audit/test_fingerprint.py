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
    assert locate(PAGE, "runs a regex over") == (2, 2, "it runs a regex over the diff")
    assert locate(PAGE, "+The merge gate") == (2, 2, "the merge gate is a script.")
    # A quote across a line end rests on the line that holds its middle.
    assert locate(PAGE, "the diff and decides alone") == (2, 3, "and decides alone.")
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


PLANTED = """\
# Gate
A harmless note.
The merge gate is a script. It runs a regex over the diff
and decides alone.
"""


def test_an_extra_quote_cannot_move_the_anchor(tmp_path: Path) -> None:
    """The id rests on the finding's own evidence at its location: a planted line that sorts
    first, quoted as well (before or after), leaves it where it was."""
    sources = sources_for(tmp_path, PLANTED)
    own = ("It runs a regex over the diff", "docs/gate.md")
    planted = ("A harmless note.", "docs/gate.md")
    alone = finding_id(sources, [own], start_line=3)
    assert finding_id(sources, [own, planted], start_line=3) == alone
    assert finding_id(sources, [planted, own], start_line=3, end_line=4) == alone
    # A finding located on the planted line rests on it, and is another finding.
    assert finding_id(sources, [planted, own], start_line=2) != alone
    # Without evidence in its own file, canon evidence (the base's, not the PR's) comes first.
    canon = ("MUST NOT serve as the gate", URI)
    elsewhere = ("a regex decides whether a PR merges", "docs/ci.md")
    assert finding_id(sources, [elsewhere, canon], path="docs/other.md") == finding_id(
        sources, [canon], path="docs/other.md"
    )
