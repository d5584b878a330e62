"""Canon as teams write it: the clean fixture has no problems, every planted defect is found.

`tests/fixtures/canon/clean` is a canon of a few dozen documents written the way real canon is:
annotated links with commas inside parentheses, section markers, stems, links to repository
files that are not canon, a second knowledge base (`klappy://`), statuses beyond the defaults,
and both URI styles (`ams://...` and plain repository paths). `planted` is a pull request's
change to it with one defect per line that `planted/EXPECTED` lists. Precision matters as much
as recall: a false positive blocks a merge.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from action.audit.diff import changes
from action.canon.checkout import Checkout
from action.canon.document import parse_document, parse_item
from action.canon.model import load_canon
from action.canon.structure import check_change, check_structure
from action.config import load_config, parse_config

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "canon"
CLEAN, PLANTED = FIXTURES / "clean", FIXTURES / "planted"


def expected() -> set[str]:
    lines = (PLANTED / "EXPECTED").read_text().splitlines()
    return {line for line in lines if line and not line.startswith("#")}


def shown(problems: list) -> set[str]:  # type: ignore[type-arg]
    return {f"{p.path}:{p.line}: {p.rule}" for p in problems}


def planted_tree(tmp_path: Path) -> Path:
    """The clean repository with the planted change applied, as the PR's head."""
    head = tmp_path / "head"
    shutil.copytree(CLEAN, head)
    for path in PLANTED.rglob("*"):
        if path.is_file() and path.name != "EXPECTED":
            target = head / path.relative_to(PLANTED)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return head


def test_the_clean_canon_has_no_problems_with_every_document_checked() -> None:
    config = load_config(CLEAN)
    checkout = Checkout(CLEAN)
    docs = {rel: checkout.read(rel) for rel in checkout.canon(config.canon.paths)}
    assert len(docs) >= 30
    assert check_structure(docs, docs, config, files=checkout.files()) == []
    canon = load_canon(checkout, config.canon.paths)
    assert canon.chain_problems() == []
    assert len(canon.docs) == len(docs)


def test_every_planted_defect_is_found_on_its_line_and_nothing_else(tmp_path: Path) -> None:
    head = planted_tree(tmp_path)
    config = load_config(CLEAN)
    pr = changes(CLEAN, head)
    problems = check_change(
        Checkout(CLEAN), Checkout(head), ((c.path, c.status) for c in pr), config
    )
    assert problems is not None
    assert shown(problems) == expected()


def test_the_whole_planted_canon_checked_finds_only_the_planted_defects(tmp_path: Path) -> None:
    """Every document checked, statuses learned from the clean base: only the plants, and the
    cycle reported on its other member too."""
    head = Checkout(planted_tree(tmp_path))
    config = load_config(CLEAN)
    base = Checkout(CLEAN)
    base_docs = {rel: base.read(rel) for rel in base.canon(config.canon.paths)}
    docs = {rel: head.read(rel) for rel in head.canon(config.canon.paths)}
    found = shown(check_structure(docs, base_docs, config, files=head.files()))
    other_member = "canon/decisions/D0014-homepage-as-product-surface.md:6: supersession-cycle"
    assert found == expected() | {other_member}


@pytest.mark.parametrize(
    ("item", "parsed"),
    [
        (
            "ams://canon/decisions/D0027-inbound-delivery (the model, as budgeted)",
            ("ams://canon/decisions/D0027-inbound-delivery", "uri"),
        ),
        ("journal/2026-05-03-day3.tsv (Decision row, Learning row)", ("journal/x", "path")),
        ("PROTOCOL.md §7 (must not modify metadata in transit)", ("PROTOCOL.md", "path")),
        ("SPEC.md §3.1 §3.2", ("SPEC.md", "path")),
        ("SPEC.md§3.1", ("SPEC.md", "path")),
        ("DOC.md#anchor", ("DOC.md", "path")),
        ("`canon/values/axioms.md`", ("canon/values/axioms.md", "path")),
        ("[Vodka](canon/principles/vodka.md)", ("canon/principles/vodka.md", "path")),
        ("D0013-homepage-as-poc-surface", ("D0013-homepage-as-poc-surface", "stem")),
        ("D0027-inbound-delivery (the deferred tier)", ("D0027-inbound-delivery", "stem")),
        ("https://example.com/a/b", ("https://example.com/a/b", "uri")),
        ("Decision row", None),
        ("Learning row)", None),
        ("the team's 2026 retro (Learning row)", None),
        ("e.g. the March incidents", None),
        ("OWASP ASVS 4.0 (level 2)", None),
        ("none", None),
        ("n/a", None),
        ("§7", None),
        ("canon/*.md", None),
    ],
)
def test_a_link_item_is_read_as_written(item: str, parsed: tuple[str, str] | None) -> None:
    found = parse_item(item)
    if parsed is not None and parsed[0] == "journal/x":
        parsed = ("journal/2026-05-03-day3.tsv", "path")
    assert found == parsed


def test_link_strings_split_outside_parentheses_with_each_item_on_its_line() -> None:
    text = (
        "---\n"
        "uri: ams://canon/a\n"
        'derives_from: "ams://canon/b (the b, and c), journal/x.tsv (Decision row, Learning'
        ' row), PROTOCOL.md §7"\n'
        "supersedes: >-\n"
        "  ams://canon/old (first),\n"
        "  canon/older.md (second, and last)\n"
        "---\n"
    )
    doc = parse_document("canon/a.md", text)
    assert [(link.field, link.target, link.line) for link in doc.links] == [
        ("derives_from", "ams://canon/b", 3),
        ("derives_from", "journal/x.tsv", 3),
        ("derives_from", "PROTOCOL.md", 3),
        ("supersedes", "ams://canon/old", 5),
        ("supersedes", "canon/older.md", 6),
    ]


STATUS_DOC = "---\nuri: ams://canon/{name}\ntitle: {name}\nstatus: {status}\n---\nBody.\n"


def status_check(status: str, base: dict[str, str], config_text: str = "") -> set[str]:
    docs = {p: parse_document(p, t) for p, t in base.items()}
    changed = {
        "canon/new.md": parse_document("canon/new.md", STATUS_DOC.format(name="new", status=status))
    }
    return shown(check_structure(changed, docs, parse_config(config_text)))


def test_statuses_are_learned_from_the_base_then_enforced() -> None:
    base = {"canon/p.md": STATUS_DOC.format(name="p", status="proposed")}
    assert status_check("proposed", base) == set()  # in use on the base
    assert status_check("active", base) == set()  # a default
    assert status_check("ratified", base, "structure:\n  statuses: [ratified]\n") == set()
    assert status_check("porposed", base) == {"canon/new.md:4: unknown-status"}
    assert status_check("proposed", {}) == {"canon/new.md:4: unknown-status"}
