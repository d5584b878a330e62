"""Verify evidence quotes against their cited source before they are reported.

A quote citing a canon URI (or a canon path) is looked for in that document's text at the base
commit (a canon source's document, at the source's commit); a quote citing any other path, in
that file in the PR head (then the merge-base and the base, for deleted lines). Matching ignores
differences of whitespace and case, and a leading diff marker per line. Unverifiable quotes are
kept, marked `verified=False`: the App shows them as such, and the finding's fingerprint never
rests on them while a verified quote exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from action.canon.model import Canon
from action.report import Evidence

_SPACE = re.compile(r"\s+")
_DIFF_MARK = re.compile(r"^[+\- ](?=\S)", re.MULTILINE)


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def normalised_quote(quote: str) -> str:
    """A quote as it is matched: diff markers dropped, whitespace and case collapsed."""
    return _norm(_DIFF_MARK.sub("", quote))


def _indexed(text: str) -> tuple[str, list[int]]:
    """Normalise `text` as `_norm` does and keep, for every character, its 1-based line."""
    chars: list[str] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for word in line.split():
            lowered = word.lower()
            if chars:
                chars.append(" ")
                lines.append(number)
            chars.append(lowered)
            lines.extend([number] * len(lowered))
    return "".join(chars), lines


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class Located(NamedTuple):
    """Where a quote sits in its source: its first and last line, and the anchor it rests on."""

    line: int
    end_line: int
    anchor: str


def locate(text: str, quote: str) -> Located | None:
    """Find the quote's first occurrence in `text`: its lines, and the anchor it rests on.

    The anchor is the sentence, within the source line, that holds the middle of the quote: the
    line itself for hard-wrapped prose and code, one sentence of a long unwrapped paragraph.
    """
    wanted = normalised_quote(quote)
    if not wanted:
        return None
    flat, lines = _indexed(text)
    at = flat.find(wanted)
    if at < 0:
        return None
    middle = at + len(wanted) // 2
    number = lines[middle]
    start = lines.index(number)
    start += flat[start] == " "  # the space before a line's first word is counted on that line
    row = flat[start : len(lines) - lines[::-1].index(number)]
    first, last = lines[at], lines[at + len(wanted) - 1]
    offset = 0
    for sentence in _SENTENCE_END.split(row):
        offset += len(sentence) + 1
        if middle - start < offset:
            return Located(first, last, sentence)
    return Located(first, last, row)


@dataclass
class Sources:
    canon: Canon
    base_dir: Path
    head_dir: Path
    base_sha: str | None
    head_sha: str | None
    # Where the PR's diff starts (dir, sha), when it is not the base: a deleted file's old text.
    merge_base: tuple[Path, str | None] | None = None

    def lookup(self, source: str) -> tuple[str, str | None] | None:
        """Return the text a source names and the commit it was read at."""
        doc = self.canon.get(source)
        if doc is not None:
            # A canon source's document was read at that source's commit, not the base's.
            found = self.canon.source_of(doc)
            return doc.text, found[0].commit if found is not None else self.base_sha
        rel = source.removeprefix("./")
        roots = [(self.head_dir, self.head_sha), (self.base_dir, self.base_sha)]
        if self.merge_base is not None:
            roots.insert(1, self.merge_base)
        for root, sha in roots:
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
    where = locate(text, evidence.quote)
    if where is None:
        return evidence.model_copy(update={"verified": False, "commit": commit})
    return evidence.model_copy(update={"verified": True, "line": where.line, "commit": commit})
