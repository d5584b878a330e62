"""A base that moved after the PR branched: the base tip governs, the PR's diff starts at the
merge-base, so the session and the structural check see only what the PR itself changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fakes.anthropic import FakeAnthropic, ToolCall, Turn, structured

from action.audit.diff import changes
from action.audit.evidence import Sources
from action.audit.hints import run_hints
from action.canon.checkout import Checkout
from action.canon.model import Canon
from action.canon.structure import check_change
from action.config import Config, Hint
from action.entrypoint import inputs_from_env
from action.report import ErrorKind
from tests.action.support import (
    VODKA,
    NoSession,
    audit,
    changed_files,
    make_checkouts,
    system_text,
    tool_results,
    write_tree,
)

VODKA_PATH = "canon/principles/vodka-architecture.md"

# Canon whose `status` the base fixed after the PR branched: the PR never touched it.
FIXED_LATER = "---\nuri: u://fixed-later\ntitle: Fixed later\ntier: 2\nstatus: {}\n---\nBody.\n"
# Canon the base retired after the PR branched: only the merge-base checkout still holds it.
RETIRED_ON_BASE = "---\nuri: u://retired-on-base\ntitle: Gone\ntier: 2\nstatus: active\n---\nX.\n"
CONFIG = (
    "canon:\n  paths: ['.']\n"
    "  foundation: [klappy://canon/principles/vodka-architecture]\n"
    "audit:\n  exclude: ['.github/**']\n"
    "limits:\n  max_turns: 8\n  wall_time_seconds: 20\n"
)


def moved_base(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The Action's layout after the base moved: (base tip, PR head, merge-base)."""
    base, head = make_checkouts(tmp_path)
    merge_base = base / ".canon-gate" / "merge-base"
    start = {
        ".github/canon-gate.yml": CONFIG,
        "canon/fixed-later.md": FIXED_LATER.format("wip"),
        "canon/retired-on-base.md": RETIRED_ON_BASE,
        "docs/release.md": "# Release\nTag by hand.\n",
    }
    # The merge-base: the base as it was when the PR branched.
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if path.is_file() and rel.parts[0] != ".canon-gate":
            write_tree(merge_base, {rel.as_posix(): path.read_text()})
    write_tree(merge_base, start)
    # The PR head: the merge-base plus its own two changes (a doc and one canon line).
    write_tree(head, start)
    write_tree(head, {VODKA_PATH: VODKA + "Hints are listed in the check run.\n"})
    # The base tip moved on: a doc rewritten, a canon status fixed, a canon file retired.
    write_tree(base, {**start, "docs/release.md": "# Release\nTagged by the release bot.\n"})
    write_tree(base, {"canon/fixed-later.md": FIXED_LATER.format("active")})
    (base / "canon/retired-on-base.md").unlink()
    return base, head, merge_base


def test_the_diff_and_the_structure_check_start_at_the_merge_base(tmp_path: Path) -> None:
    base, head, merge_base = moved_base(tmp_path)
    config = Config.model_validate({"canon": {"paths": ["canon"]}})
    own = changes(merge_base, head, exclude=[".github/**"])
    assert [(c.path, c.status) for c in own] == [
        (VODKA_PATH, "modified"),
        ("docs/ci.md", "modified"),
    ]
    problems = check_change(
        Checkout(base), Checkout(head), ((c.path, c.status) for c in own), config
    )
    assert problems == []
    # The test has teeth: from the base tip, the base's own commits read as the PR reverting them.
    tip = changes(base, head, exclude=[".github/**"], skip=[head, merge_base])
    assert {"docs/release.md", "canon/fixed-later.md", "canon/retired-on-base.md"} <= {
        c.path for c in tip
    }
    flagged = check_change(
        Checkout(base), Checkout(head), ((c.path, c.status) for c in tip), config
    )
    assert {p.path for p in flagged or []} == {"canon/fixed-later.md"}


@pytest.mark.cli
async def test_session_sees_only_the_prs_own_change(tmp_path: Path, fake: FakeAnthropic) -> None:
    base, head, merge_base = moved_base(tmp_path)
    fake.script = [
        Turn(
            tool_calls=[
                ToolCall("mcp__canon_gate__pr_diff", {}),
                ToolCall("mcp__canon_gate__pr_diff", {"path": "docs/release.md"}),
                ToolCall("mcp__canon_gate__pr_diff", {"path": VODKA_PATH}),
            ]
        ),
        structured({"findings": []}),
    ]
    report = await audit((base, head), fake, merge_base=merge_base)
    assert report.error is None, report.error
    text = system_text(fake)
    assert changed_files(text) == [f'- modified: "{VODKA_PATH}"', '- modified: "docs/ci.md"']
    assert f"Merge-base checkout (the PR's diff is taken from it): {merge_base}" in text
    # The base tip governs: its canon, never the merge-base's or the head's nested copies.
    assert "u://fixed-later (active)" in text
    assert "u://retired-on-base" not in text
    results = [str(r.get("content")) for r in tool_results(fake)]
    assert any(f'modified: "{VODKA_PATH}"\\nmodified: "docs/ci.md"\\n\'' in r for r in results)
    assert any('"docs/release.md" is not changed by this pull request' in r for r in results)
    assert any("+Hints are listed in the check run." in r for r in results)
    assert not any("fixed-later" in r or "retired-on-base" in r for r in results)
    # The structural check ran on the PR's own files only, never on what the base changed.
    assert report.structure is not None
    assert {p.path for p in report.structure} <= {"docs/ci.md", VODKA_PATH}
    assert report.run.merge_base_sha == "m" * 40
    assert report.run.base_sha == "b" * 40


def test_the_step_env_names_the_merge_base_checkout(tmp_path: Path) -> None:
    env = {
        "GITHUB_WORKSPACE": str(tmp_path),
        "CANON_GATE_MERGE_BASE_PATH": ".canon-gate/merge-base",
        "CANON_GATE_MERGE_BASE_SHA": "m" * 40,
    }
    inputs = inputs_from_env(env)
    assert inputs.base_dir == tmp_path
    assert inputs.merge_base_dir == tmp_path / ".canon-gate/merge-base"
    assert inputs.merge_base_sha == "m" * 40
    # Older callers name no merge-base: the diff is taken from the base checkout.
    older = inputs_from_env({"GITHUB_WORKSPACE": str(tmp_path)})
    assert older.merge_base_dir is None


def test_a_deleted_files_quote_is_found_at_the_merge_base(tmp_path: Path) -> None:
    base, head, merge_base = moved_base(tmp_path)
    (head / "docs/release.md").unlink()  # the PR deletes it; the base rewrote it meanwhile
    sources = Sources(Canon([]), base, head, "b" * 40, "h" * 40, (merge_base, "m" * 40))
    assert sources.lookup("docs/release.md") == ("# Release\nTag by hand.\n", "m" * 40)
    assert sources.lookup("docs/ci.md") == ((head / "docs/ci.md").read_text(), "h" * 40)


async def test_a_missing_merge_base_checkout_fails_closed(
    tmp_path: Path, fake: FakeAnthropic
) -> None:
    base, head, _ = moved_base(tmp_path)
    gone = tmp_path / "never-checked-out"
    report = await audit((base, head), fake, harness=NoSession(), merge_base=gone)  # type: ignore[arg-type]
    assert report.error_kind is ErrorKind.CRASH
    assert f"a checkout is missing: {gone}" == report.error


async def test_hints_are_told_where_the_prs_diff_starts(tmp_path: Path) -> None:
    base, head, merge_base = moved_base(tmp_path)
    hint = Hint(name="where", run=["sh", "-c", 'echo "$CANON_GATE_MERGE_BASE"'])
    (result,) = await run_hints([hint], base, head, os.environ["PATH"], merge_base)
    assert result.output.strip() == str(merge_base)
    (older,) = await run_hints([hint], base, head, os.environ["PATH"])
    assert older.output.strip() == str(base)


def test_a_quote_from_the_prs_own_edit_of_a_canon_document_is_verified(tmp_path: Path) -> None:
    """Canon the PR edits is itself under review: a quote of its new text, cited by the
    document's URI or path, is found in the PR head (and says so by its commit)."""
    from action.audit.evidence import verify
    from action.canon.checkout import Checkout
    from action.canon.model import load_canon
    from action.report import Evidence
    from tests.action.support import make_checkouts

    base, head = make_checkouts(tmp_path)
    rule = "canon/principles/vodka-architecture.md"
    (head / rule).write_text((base / rule).read_text() + "\nA brand-new sentence the PR adds.\n")
    canon = load_canon(Checkout(base, skip=[base / ".canon-gate"]), ["canon"])
    sources = Sources(canon, base, head, "b" * 40, "h" * 40)
    for cited in ("klappy://canon/principles/vodka-architecture", rule):
        new = verify(Evidence(quote="a brand-new sentence the PR adds", source=cited), sources)
        assert (new.verified, new.commit) == (True, "h" * 40), cited
        old = verify(
            Evidence(quote="Governance is fetched, never hardcoded", source=cited), sources
        )
        assert (old.verified, old.commit) == (True, "b" * 40), cited
        nowhere = verify(Evidence(quote="words in neither version", source=cited), sources)
        assert (nowhere.verified, nowhere.commit) == (False, "b" * 40), cited
