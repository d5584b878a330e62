"""Verify evidence quotes against their cited source before they are reported.

A quote citing a canon URI (or a canon path) is looked for in that document's text at the base
commit (a canon source's document, at the source's commit), then in the PR's own edit of it; a
quote citing any other path, in that file in the PR head (then the merge-base and the base, for
deleted lines). Matching ignores
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

    def candidates(self, source: str) -> list[tuple[str, str | None]]:
        """The texts a source may name, each with the commit it was read at, in order.

        A canon document first as it governs (at the base, or its source's commit), then as the
        PR has it (a quote from the PR's own edit of that document); any other path in the PR
        head, then the merge-base and the base (deleted lines).
        """
        found: list[tuple[str, str | None]] = []
        doc = self.canon.get(source)
        rel = source.removeprefix("./")
        if doc is not None:
            # A canon source's document was read at that source's commit, not the base's.
            origin = self.canon.source_of(doc)
            found.append((doc.text, origin[0].commit if origin is not None else self.base_sha))
            if origin is not None:
                return found
            rel = doc.path
        roots = [(self.head_dir, self.head_sha), (self.base_dir, self.base_sha)]
        if self.merge_base is not None:
            roots.insert(1, self.merge_base)
        for root, sha in roots:
            path = (root / rel).resolve()
            if root.resolve() in path.parents and path.is_file():
                try:
                    found.append((path.read_text(encoding="utf-8"), sha))
                except (OSError, UnicodeDecodeError):
                    continue
        return found

    def lookup(self, source: str) -> tuple[str, str | None] | None:
        """Return the text a source names first, and the commit it was read at."""
        found = self.candidates(source)
        return found[0] if found else None

    def find(self, source: str, quote: str) -> tuple[str | None, Located] | None:
        """Where a quote sits in the first of its source's texts that holds it, and that text's
        commit; None when none does."""
        for text, commit in self.candidates(source):
            where = locate(text, quote)
            if where is not None:
                return commit, where
        return None


def verify(evidence: Evidence, sources: Sources) -> Evidence:
    """Return the evidence with `verified`, `line` and `commit` set from its source."""
    found = sources.find(evidence.source, evidence.quote)
    if found is None:
        first = sources.lookup(evidence.source)
        commit = first[1] if first is not None else None
        return evidence.model_copy(update={"verified": False, "commit": commit})
    commit, where = found
    return evidence.model_copy(update={"verified": True, "line": where.line, "commit": commit})
