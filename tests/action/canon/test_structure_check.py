"""The structural check of canon frontmatter: each problem on the exact line at fault."""

from __future__ import annotations

from collections.abc import Collection

from action.canon.checkout import is_canon_path
from action.canon.document import CanonDoc, parse_document
from action.canon.structure import check_structure
from action.config import Config, parse_config
from action.report import StructureProblem

CONFIG = Config()


def doc(*lines: str, body: str = "# Title\n\nText.\n") -> str:
    return "---\n" + "\n".join(lines) + "\n---\n" + body


GOOD = doc(
    "uri: klappy://canon/a",  # line 2
    'title: "A"',  # line 3
    "status: active",  # line 4
)
OLD = doc("uri: klappy://canon/old", "title: Old", "status: superseded")


def check(
    changed: dict[str, str],
    base: dict[str, str],
    config: Config,
    deleted: Collection[str] = (),
) -> list[StructureProblem]:
    """Check texts as they would be read from the checkouts."""

    def parse(texts: dict[str, str]) -> dict[str, CanonDoc]:
        return {path: parse_document(path, text) for path, text in texts.items()}

    return check_structure(parse(changed), parse(base), config, deleted=deleted)


def rules(problems: list[StructureProblem]) -> list[tuple[str, int, str]]:
    return [(p.path, p.line, p.rule) for p in problems]


def test_a_valid_document_has_no_problems() -> None:
    assert check({"canon/a.md": GOOD}, {}, CONFIG) == []


def test_missing_required_field_points_at_the_opening_fence() -> None:
    text = doc("uri: klappy://canon/a", "status: active")
    problems = check({"canon/a.md": text}, {}, CONFIG)
    assert rules(problems) == [("canon/a.md", 1, "required-field")]
    assert "`title`" in problems[0].message


def test_empty_required_field_points_at_its_key() -> None:
    text = doc("uri: klappy://canon/a", "title:", "status: active")
    assert rules(check({"canon/a.md": text}, {}, CONFIG)) == [("canon/a.md", 3, "required-field")]


def test_unknown_status_is_on_the_status_line() -> None:
    text = doc("uri: klappy://canon/a", "title: A", "tags: [x, y]", "status: wip")
    problems = check({"canon/a.md": text}, {}, CONFIG)
    assert rules(problems) == [("canon/a.md", 5, "unknown-status")]
    assert "wip" in problems[0].message
    assert "active" in problems[0].message


def test_config_extends_the_known_statuses() -> None:
    config = parse_config("structure:\n  statuses: [wip]\n")
    text = doc("uri: klappy://canon/a", "title: A", "status: wip")
    assert check({"canon/a.md": text}, {}, config) == []


def test_required_fields_come_from_config() -> None:
    config = parse_config("structure:\n  required: [uri, title, status, tier]\n")
    problems = check({"canon/a.md": GOOD}, {}, config)
    assert [(p.rule, "`tier`" in p.message) for p in problems] == [("required-field", True)]


def test_dangling_supersedes_in_a_comma_string_points_at_the_key_line() -> None:
    text = doc(
        "uri: klappy://canon/a",
        "title: A",
        "status: active",
        'supersedes: "klappy://canon/old, canon/missing.md"',  # line 5
    )
    problems = check({"canon/a.md": text}, {"canon/old.md": OLD}, CONFIG)
    assert rules(problems) == [("canon/a.md", 5, "dangling-link")]
    assert "canon/missing.md" in problems[0].message


def test_dangling_target_in_a_block_list_points_at_its_item() -> None:
    text = doc(
        "uri: klappy://canon/a",
        "title: A",
        "status: active",
        "derives_from:",  # line 5
        "  - canon/old.md",  # line 6
        "  - canon/nowhere",  # line 7
    )
    problems = check({"canon/a.md": text}, {"canon/old.md": OLD}, CONFIG)
    assert rules(problems) == [("canon/a.md", 7, "dangling-link")]


def test_targets_resolve_by_uri_path_without_md_relative_path_and_pr_canon() -> None:
    new = doc("uri: klappy://canon/new", "title: New", "status: draft")
    text = doc(
        "uri: klappy://canon/a",
        "title: A",
        "status: active",
        "supersedes: klappy://canon/old#section",
        "derives_from: [canon/new, ./old.md, klappy://canon/new]",
    )
    changed = {"canon/a.md": text, "canon/new.md": new}
    assert check(changed, {"canon/old.md": OLD}, CONFIG) == []


def test_a_target_deleted_by_the_pr_dangles() -> None:
    text = doc("uri: klappy://canon/a", "title: A", "status: active", "supersedes: canon/old.md")
    problems = check({"canon/a.md": text}, {"canon/old.md": OLD}, CONFIG, deleted={"canon/old.md"})
    assert rules(problems) == [("canon/a.md", 5, "dangling-link")]


def test_a_supersession_cycle_is_reported_on_each_changed_member() -> None:
    a = doc("uri: klappy://canon/a", "title: A", "status: active", "supersedes: klappy://canon/b")
    b = doc(
        "uri: klappy://canon/b",
        "title: B",
        "status: superseded",
        "supersedes: klappy://canon/c",
    )
    c = doc("uri: klappy://canon/c", "title: C", "status: active", "supersedes: [canon/a.md]")
    problems = check({"canon/a.md": a, "canon/c.md": c}, {"canon/b.md": b}, CONFIG)
    assert rules(problems) == [
        ("canon/a.md", 5, "supersession-cycle"),
        ("canon/c.md", 5, "supersession-cycle"),
    ]


def test_superseded_by_counts_as_the_reverse_edge_of_a_cycle() -> None:
    a = doc(
        "uri: klappy://canon/a",
        "title: A",
        "status: active",
        "superseded_by: canon/b.md",  # 5: b supersedes a
        "supersedes: canon/b.md",  # 6: a supersedes b
    )
    b = doc("uri: klappy://canon/b", "title: B", "status: active")
    assert rules(check({"canon/a.md": a}, {"canon/b.md": b}, CONFIG)) == [
        ("canon/a.md", 5, "supersession-cycle")
    ]


def test_both_directions_of_one_supersession_are_not_a_cycle() -> None:
    a = doc("uri: klappy://canon/a", "title: A", "status: active", "supersedes: klappy://canon/old")
    old = doc(
        "uri: klappy://canon/old", "title: Old", "status: superseded", "superseded_by: canon/a.md"
    )
    assert check({"canon/a.md": a, "canon/old.md": old}, {}, CONFIG) == []


def test_self_supersession_is_a_cycle() -> None:
    a = doc("uri: klappy://canon/a", "title: A", "status: active", "supersedes: klappy://canon/a")
    assert rules(check({"canon/a.md": a}, {}, CONFIG)) == [("canon/a.md", 5, "supersession-cycle")]


def test_invalid_yaml_is_a_problem_on_its_line() -> None:
    text = doc("uri: klappy://canon/a", "title: A", "status: [active", "tier: 1")
    problems = check({"canon/a.md": text}, {}, CONFIG)
    assert [p.rule for p in problems] == ["yaml-invalid"]
    assert problems[0].line in (4, 5)


def test_bad_indentation_is_on_the_offending_line() -> None:
    text = doc("uri: klappy://canon/a", "title: A", "  status: active")
    problems = check({"canon/a.md": text}, {}, CONFIG)
    assert rules(problems) == [("canon/a.md", 4, "yaml-invalid")]


def test_missing_or_unclosed_frontmatter() -> None:
    problems = check(
        {"canon/a.md": "# No frontmatter\n", "canon/b.md": "---\nuri: x\n# never closed\n"},
        {},
        CONFIG,
    )
    assert rules(problems) == [
        ("canon/a.md", 1, "frontmatter-missing"),
        ("canon/b.md", 1, "frontmatter-unclosed"),
    ]


def test_frontmatter_that_is_not_a_mapping() -> None:
    assert rules(check({"canon/a.md": doc("- a", "- b")}, {}, CONFIG)) == [
        ("canon/a.md", 1, "frontmatter-not-mapping")
    ]


def test_a_link_field_of_the_wrong_shape() -> None:
    text = doc("uri: klappy://canon/a", "title: A", "status: active", "supersedes: {a: 1}")
    assert rules(check({"canon/a.md": text}, {}, CONFIG)) == [("canon/a.md", 5, "link-shape")]


def test_several_problems_in_one_file_in_line_order() -> None:
    text = doc(
        "uri: klappy://canon/a",
        "status: gone",  # 3
        "supersedes: canon/x.md",  # 4
    )
    assert rules(check({"canon/a.md": text}, {}, CONFIG)) == [
        ("canon/a.md", 1, "required-field"),
        ("canon/a.md", 3, "unknown-status"),
        ("canon/a.md", 4, "dangling-link"),
    ]


def test_only_canon_markdown_is_checked_and_a_broken_base_does_not_count() -> None:
    changed = {"docs/readme.md": "no frontmatter", "canon/data.json": "{}", "canon/a.md": GOOD}
    base = {"canon/broken.md": "---\n: : :\n---\n"}
    assert check(changed, base, CONFIG) == []
    assert is_canon_path("canon/x/y.md", CONFIG)
    assert not is_canon_path("canonical/y.md", CONFIG)
    assert is_canon_path("docs/adr/1.md", parse_config("canon:\n  paths: ['docs/adr/*.md']\n"))


def test_the_seed_style_frontmatter_with_crlf_and_bom() -> None:
    text = (
        '\ufeff---\r\nuri: klappy://canon/constraints/gate\r\ntitle: "Gate"\r\ntier: 1\r\n'
        'derives_from: "canon/values/axioms.md, canon/methods/audit.md"\r\nstatus: active\r\n'
        "---\r\n# Gate\r\n"
    )
    base = {
        "canon/values/axioms.md": doc(
            "uri: klappy://canon/values/axioms", "title: X", "status: active"
        ),
    }
    problems = check({"canon/constraints/gate.md": text}, base, CONFIG)
    assert rules(problems) == [("canon/constraints/gate.md", 5, "dangling-link")]
    assert "canon/methods/audit.md" in problems[0].message


def test_disabled_structure_check() -> None:
    config = parse_config("structure:\n  enabled: false\n")
    assert check({"canon/a.md": "nothing"}, {}, config) == []
