"""Verify evidence quotes against their cited source before they are reported.

A quote citing a canon URI (or a canon path) is looked for in that document's text at the base
commit; a quote citing any other path, in that file in the PR head (then the base, for deleted
lines). Matching ignores differences of whitespace and case, and a leading diff marker per line.
Unverifiable quotes are kept, marked `verified=False`: the App shows them as such, and the
finding's fingerprint never rests on them while a verified quote exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from action.canon import Canon
from action.report import Evidence

_SPACE = re.compile(r"\s+")
_DIFF_MARK = re.compile(r"^[+\- ](?=\S)", re.MULTILINE)


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


@dataclass
class Sources:
    canon: Canon
    base_dir: Path
    head_dir: Path
    base_sha: str | None
    head_sha: str | None

    def lookup(self, source: str) -> tuple[str, str | None] | None:
        """Return the text a source names and the commit it was read at."""
        doc = self.canon.get(source)
        if doc is not None:
            return doc.text, self.base_sha
        rel = source.removeprefix("./")
        for root, sha in ((self.head_dir, self.head_sha), (self.base_dir, self.base_sha)):
            path = (root / rel).resolve()
            if root.resolve() in path.parents and path.is_file():
                try:
                    return path.read_text(encoding="utf-8"), sha
                except (OSError, UnicodeDecodeError):
                    return None
        return None


def verify(evidence: Evidence, sources: Sources) -> Evidence:
    """Return the evidence with `verified`, `line` and `commit` set from its source."""
    found = sources.lookup(evidence.source)
    if found is None:
        return evidence.model_copy(update={"verified": False})
    text, commit = found
    quote = _norm(_DIFF_MARK.sub("", evidence.quote))
    if not quote or quote not in _norm(text):
        return evidence.model_copy(update={"verified": False, "commit": commit})
    line = evidence.line
    first = _norm(_DIFF_MARK.sub("", evidence.quote).splitlines()[0] if evidence.quote else "")
    for number, content in enumerate(text.splitlines(), start=1):
        if first and first in _norm(content):
            line = number
            break
    return evidence.model_copy(update={"verified": True, "line": line, "commit": commit})
