"""Read the markdown of one checkout at most once, and select its canon by each caller's rule.

Each file is read and parsed the first time anyone asks for it; the audit's canon, the structural
check and the PR's own changes share that parse. Two selection rules live here side by side,
until a change of the rules makes them one:

- `audit_canon`: each configured canon path is a file, or a folder searched for `*.md`; `.git`,
  the folders in `skip` and links leading out of the checkout are never canon.
- `check_canon`: every `*.md` in the checkout that `is_canon_path` (a configured folder or glob
  pattern), outside the data checkouts nested in `.canon-gate`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from fnmatch import fnmatch
from pathlib import Path

from action.canon.document import CanonDoc, parse_document
from action.config import Config

# Where the Action nests the PR head and merge-base checkouts inside the base one.
DATA_DIR = ".canon-gate"


def is_canon_path(path: str, config: Config) -> bool:
    """Tell whether a repository path is a canon document under the configured canon paths."""
    if not path.endswith(".md"):
        return False
    for root in config.canon.paths:
        root = root.strip("/")
        if any(ch in root for ch in "*?["):
            if fnmatch(path, root):
                return True
        elif root in ("", ".") or path.startswith(root + "/") or path == root:
            return True
    return False


class Checkout:
    """The canon documents of one checkout, each parsed at most once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # Files that are not valid UTF-8: parsed with replacement characters, never audit canon.
        self.undecodable: set[str] = set()
        self._docs: dict[str, CanonDoc] = {}

    def read(self, rel: str) -> CanonDoc:
        """Return the parsed document at a repository path, reading it on first use."""
        if rel not in self._docs:
            data = (self.root / rel).read_bytes()
            try:
                text = _decode(data, "strict")
            except UnicodeDecodeError:
                self.undecodable.add(rel)
                text = _decode(data, "replace")
            self._docs[rel] = parse_document(rel, text)
        return self._docs[rel]

    def audit_canon(self, paths: Sequence[str], skip: Sequence[Path] = ()) -> list[str]:
        """List the audit's canon files: under the configured paths, inside the checkout.

        Folders in `skip` (the PR head, nested in the base workspace) and `.git` are never canon,
        even when a canon path such as `.` covers them; nor is a link that leads out of `root`.
        """
        files: set[Path] = set()
        for entry in paths:
            base = self.root / entry
            if base.is_file():
                files.add(base)
            elif base.is_dir():
                files.update(p for p in base.rglob("*.md") if p.is_file())
        skipped = [s.resolve() for s in skip]
        top = self.root.resolve()
        found = []
        for file in sorted(files):
            real = file.resolve()
            outside = top not in real.parents or any(
                real == s or s in real.parents for s in skipped
            )
            if outside or ".git" in file.relative_to(self.root).parts:
                continue
            found.append(file.relative_to(self.root).as_posix())
        return found

    def check_canon(self, config: Config) -> list[str]:
        """List the structural check's canon files: every `*.md` that `is_canon_path`."""
        found = []
        for path in sorted(self.root.rglob("*.md")):
            rel = path.relative_to(self.root)
            if DATA_DIR not in rel.parts and is_canon_path(rel.as_posix(), config):
                found.append(rel.as_posix())
        return found


def _decode(data: bytes, errors: str) -> str:
    # As `Path.read_text` decodes: UTF-8, with universal newlines.
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors=errors).read()
