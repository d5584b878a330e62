"""The starter corpus loads, every expected location is real, and it covers what the issue asks;
a broken case is a usage error that names the case and the key."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from action.audit.diff import changes
from action.canon.checkout import Checkout, is_canon_path
from action.canon.model import load_canon, require_documents
from action.config import load_config
from action.eval.corpus import CorpusError, load_corpus
from action.report import Kind
from tests.action.support import write_tree

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT / "eval" / "corpus"


def test_the_starter_corpus_loads_and_covers_the_issue() -> None:
    # load_corpus checks every expected location against its head tree.
    cases = load_corpus(CORPUS)
    assert len(cases) >= 40
    substantive = Counter(e.kind for c in cases for e in c.expect if e.substantive)
    named = set(Kind) - {Kind.OTHER}
    assert named <= set(substantive), f"kinds without a case: {named - set(substantive)}"
    assert min(substantive[k] for k in named) >= 4
    tags = Counter(t for c in cases for t in c.tags)
    assert sum(c.clean for c in cases) >= 10
    assert sum(c.clean and not c.expect for c in cases) >= 10  # `expect: []`
    assert sum(c.clean and bool(c.expect) for c in cases) >= 3  # cosmetic only
    assert tags["injection"] >= 3
    assert tags["canon-edited"] >= 3
    assert tags["multi-file"] >= 3
    assert tags["suspicious"] >= 3


def test_every_case_is_a_change_the_runner_can_judge() -> None:
    """Config and canon load from base/ (no case is not evaluated for want of them), head/
    differs from it, and the tags that describe the change are true of it."""
    for case in load_corpus(CORPUS):
        config = load_config(case.base)
        base = Checkout(case.base)
        canon = load_canon(base, config.canon.paths)
        require_documents(canon, base, config.canon.paths)
        assert all(canon.get(ref) for ref in config.canon.foundation), case.name
        changed = changes(case.base, case.head)
        assert changed, case.name
        assert ("multi-file" in case.tags) == (len(changed) > 1), case.name
        edits_canon = any(is_canon_path(c.path, config) for c in changed)
        assert ("canon-edited" in case.tags) == edits_canon, case.name
        assert ("clean-control" in case.tags) == case.clean, case.name
        kinds = {e.kind.value for e in case.expect if e.substantive}
        assert kinds <= set(case.tags) | {"other"}, case.name


def make_case(root: Path, case: object, head: dict[str, str] | None = None) -> Path:
    write_tree(root / "c1" / "base", {"canon/a.md": "---\nuri: x://a\n---\n"})
    write_tree(root / "c1" / "head", head or {"docs/a.md": "one\ntwo\n"})
    (root / "c1" / "case.yml").write_text(yaml.safe_dump(case))
    return root


EXPECT = {"path": "docs/a.md", "start_line": 2, "end_line": 2}
FINDING = {**EXPECT, "classification": "substantive", "kind": "drift"}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ({"description": "d", "expcet": []}, "`expcet`: Extra inputs are not permitted"),
        ({"description": "d"}, "`expect`: Field required"),
        ({"description": "d", "expect": [{**FINDING, "kind": "typo"}]}, "`expect.0.kind`"),
        (
            {"description": "d", "expect": [{**FINDING, "end_line": 3}]},
            "`expect.0.end_line`: 3 is past the end of head/docs/a.md (2 lines)",
        ),
        (
            {"description": "d", "expect": [{**FINDING, "path": "docs/b.md"}]},
            "`expect.0.path`: head/docs/b.md does not exist",
        ),
        (
            {"description": "d", "expect": [{**FINDING, "path": "../c1/case.yml"}]},
            "is not a path inside head/",
        ),
        ("just text", "must be a mapping"),
    ],
)
def test_a_broken_case_names_the_case_and_the_key(
    tmp_path: Path, case: object, message: str
) -> None:
    with pytest.raises(CorpusError, match="case `c1`") as caught:
        load_corpus(make_case(tmp_path, case))
    assert message in str(caught.value)


def test_a_folder_without_its_case_file_or_trees_is_an_error(tmp_path: Path) -> None:
    root = make_case(tmp_path, {"description": "d", "expect": []})
    (root / "stray").mkdir()
    with pytest.raises(CorpusError, match=r"case `stray`: .*case\.yml is missing"):
        load_corpus(root)
    (root / "stray").rmdir()
    (root / "c1" / "head" / "docs" / "a.md").unlink()
    (root / "c1" / "head" / "docs").rmdir()
    (root / "c1" / "head").rmdir()
    with pytest.raises(CorpusError, match="case `c1`: the `head/` tree is missing"):
        load_corpus(root)
    with pytest.raises(CorpusError, match="no such folder"):
        load_corpus(tmp_path / "nowhere")
