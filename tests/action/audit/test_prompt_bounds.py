"""The prompt does not grow with the canon; an empty or misconfigured canon is never a pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from action.audit.diff import FileChange
from action.audit.prompt import FOUNDATION_CAP, build_prompt
from action.canon.document import parse_document
from action.canon.index import CanonIndex
from action.canon.model import Canon, CanonProblem
from action.report import ErrorKind
from tests.action.support import NoSession, audit, write_tree

AREAS = ("relay", "ledger", "billing", "search", "audit")


def big_canon(n: int) -> Canon:
    docs = []
    for i in range(n):
        area = AREAS[i % len(AREAS)]
        text = (
            f"---\nuri: ams://canon/{area}/d{i:05d}\ntitle: The {area} rule number {i}\n"
            f"tier: {i % 3}\nstatus: active\n---\n"
            f"The {area} component must keep its {area} budget {i}.\n"
        )
        docs.append(parse_document(f"canon/{area}/d{i:05d}.md", text))
    return Canon(docs)


def change(path: str, lines: list[str]) -> FileChange:
    diff = f"--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n" + "".join(f"+{x}\n" for x in lines)
    return FileChange(path, "modified", diff)


def prompt_for(canon: Canon, changes: list[FileChange], **kw: object) -> str:
    built = build_prompt(
        canon,
        [],
        changes,
        [],
        7,
        "/h",
        "/b",
        index=CanonIndex(canon),
        **kw,  # type: ignore[arg-type]
    )
    return built.system


def static_part(system: str) -> str:
    return system[: system.index("\nThis run:")]


def test_the_system_prompt_is_bounded_whatever_the_canon_size() -> None:
    changes = [change("src/billing/invoice.py", ["billing budget enforced"] * 5)]
    sizes = {n: len(prompt_for(big_canon(n), changes)) for n in (50, 2_000, 6_000)}
    # A small canon is listed whole; a large one up to the index's budget, not beyond.
    assert sizes[2_000] < 45_000
    assert abs(sizes[6_000] - sizes[2_000]) < 2_000
    small = prompt_for(big_canon(50), changes)
    assert "Canon index (50 documents)." in small
    assert small.count("- ams://canon/") == 50


def test_a_large_canon_lists_the_documents_the_change_touches_after_the_static_prefix() -> None:
    canon = big_canon(3_000)
    system = prompt_for(canon, [change("src/billing/invoice.py", ["billing budget 2997"])])
    static = static_part(system)
    assert "Canon index (3000 documents; the " in static
    assert "most fundamental in force are listed" in static
    per_pr = system[len(static) :]
    touched = per_pr[per_pr.index("Canon this change most likely touches") :]
    assert "ams://canon/billing/" in touched.split("This run's NONCE")[0]
    # The static prefix is the same for another PR on the same canon.
    other = prompt_for(canon, [change("docs/relay.md", ["relay notes"])])
    assert static_part(other) == static


def test_many_changed_files_are_listed_up_to_a_bound() -> None:
    changes = [change(f"src/f{i}.py", ["x"]) for i in range(500)]
    system = prompt_for(big_canon(10), changes)
    assert "- ... and 400 more (pr_diff lists them all)" in system
    assert system.count('- modified: "src/f') == 100


PERSONA = [("ams://canon/gates/security", "canon/gates/security.md", "Review for injection.")]


def test_the_persona_follows_the_foundation_inside_the_static_prefix() -> None:
    canon = big_canon(20)
    built = build_prompt(
        canon, ["ams://canon/relay/d00000"], [], [], 7, "/h", "/b", persona=PERSONA
    )
    static = static_part(built.system)
    order = [
        static.index("Foundation canon"),
        static.index("Persona: this gate's task"),
        static.index("Review for injection."),
        static.index("Canon index"),
    ]
    assert order == sorted(order)


def test_foundation_and_persona_over_the_cap_is_a_config_error_naming_them() -> None:
    canon = big_canon(5)
    heavy = [("ams://canon/gates/huge", "canon/gates/huge.md", "x" * FOUNDATION_CAP)]
    with pytest.raises(CanonProblem) as caught:
        build_prompt(canon, ["ams://canon/relay/d00000"], [], [], 7, "/h", "/b", persona=heavy)
    message = str(caught.value)
    assert message.startswith("the foundation and persona documents hold")
    assert f"`ams://canon/gates/huge` ({FOUNDATION_CAP:,})" in message
    assert "`ams://canon/relay/d00000` (" in message


def test_a_foundation_document_that_is_not_canon_is_a_config_error() -> None:
    with pytest.raises(CanonProblem, match=r"^`canon.foundation` names `ams://canon/nope`"):
        build_prompt(big_canon(3), ["ams://canon/nope"], [], [], 7, "/h", "/b")


@pytest.mark.parametrize(
    ("config", "start"),
    [
        ("", "the canon is empty: no markdown document under the canon paths `canon`"),
        (
            "canon:\n  paths: ['docs/adr/*.md']\n",
            "the canon is empty: no markdown document under the canon paths `docs/adr/*.md`",
        ),
    ],
)
async def test_an_empty_canon_is_not_evaluated_and_says_how_to_start(
    tmp_path: Path, config: str, start: str
) -> None:
    base, head = tmp_path / "ws", tmp_path / "ws/.canon-gate/head"
    files = {"README.md": "# Widgets\n", ".github/canon-gate.yml": config or "model: x\n"}
    write_tree(base, files)
    write_tree(head, {**files, "src/x.py": "x = 1\n"})
    report = await audit((base, head), fake=_NoModel(), harness=NoSession())  # type: ignore[arg-type]
    assert report.status == "not_evaluated"
    assert report.error_kind is ErrorKind.CONFIG
    assert report.error is not None
    assert report.error.startswith(start)
    assert "To start, add one under `canon/`" in report.error


async def test_a_canon_of_unreadable_documents_is_not_evaluated(tmp_path: Path) -> None:
    base, head = tmp_path / "ws", tmp_path / "ws/.canon-gate/head"
    files = {"canon/a.md": "---\ntitle: [unclosed\n---\nA.\n"}
    write_tree(base, files)
    write_tree(head, files)
    report = await audit((base, head), fake=_NoModel(), harness=NoSession())  # type: ignore[arg-type]
    assert report.error_kind is ErrorKind.CONFIG
    assert report.error is not None
    assert report.error.startswith("no canon document could be read under the canon paths")


class _NoModel:
    """Stands in for the fake model where no session may start (only its URL is read)."""

    url = "http://127.0.0.1:9"
