"""Safe markdown for text from a report: escape hostile strings and cut text to GitHub's limits.

Findings are written by a session that read a pull request, so every string in them is hostile
input: it must not break a table, inject HTML or images, or @-mention anyone.
"""

from __future__ import annotations

import re

# A zero-width joiner after `@` keeps the text readable but stops GitHub from linking a mention.
ZWJ = "\u200d"
ELLIPSIS = "…"

_WHITESPACE = re.compile(r"\s+")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
# Characters that start markdown syntax inline: emphasis, code, links, images, tables, headings.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]!|~#])")
_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_BACKTICK_RUN = re.compile(r"`+")


def neutralise_mentions(text: str) -> str:
    """Stop `@user` and `@org/team` from pinging anyone."""
    return _MENTION.sub("@" + ZWJ, text)


def one_line(text: str) -> str:
    """Collapse every run of whitespace, newlines included, to one space."""
    return _WHITESPACE.sub(" ", text).strip()


def shorten(text: str, limit: int) -> str:
    """Put text on one line and cut it to at most `limit` characters, marking the cut."""
    # Flatten only a generous prefix: hostile text can be megabytes long.
    head = text[: limit * 8 + 64]
    flat = one_line(head)
    if len(flat) <= limit and len(head) == len(text):
        return flat
    return flat[: limit - 1].rstrip() + ELLIPSIS


def inline(text: str) -> str:
    """Escape text for inline markdown, a table cell included: one line, no HTML, no mentions."""
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", one_line(text))
    escaped = escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return neutralise_mentions(escaped)


def cell(text: str, limit: int = 120) -> str:
    """Shorten, then escape, text for one markdown table cell."""
    return inline(shorten(text, limit))


def fenced(text: str, info: str = "") -> str:
    """Wrap text in a code fence longer than any backtick run inside it, so it cannot escape."""
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{fence}{info}\n{body}{fence}"


def _open_fence(lines: list[str]) -> str | None:
    """Return the fence left open at the end of these lines, if any (CommonMark's rule)."""
    fence: str | None = None
    for line in lines:
        match = _FENCE_LINE.match(line)
        if match is None:
            continue
        marker = match.group(1)
        if fence is None:
            fence = marker
        # A closing fence is at least as long as the opening one and holds nothing else.
        elif len(marker) >= len(fence) and not line.strip().strip(fence[0]):
            fence = None
    return fence


def cut(text: str, limit: int, tail: str) -> str:
    """Cut markdown to at most `limit` characters at a line boundary, closing an open fence.

    `tail` (a pointer to the full report) is appended on its own line whenever text is cut.
    """
    if len(text) <= limit:
        return text
    # Room for the tail, a newline before it and a closing fence of any sane length.
    room = limit - len(tail) - 2
    fence_room = 16
    kept = text[: max(room - fence_room, 0)]
    newline = kept.rfind("\n")
    if newline > len(kept) // 2:
        kept = kept[:newline]
    fence = _open_fence(kept.split("\n"))
    if fence is not None and len(fence) <= fence_room - 1:
        kept += "\n" + fence
    result = f"{kept}\n{tail}"
    # A pathological fence or tail: fall back to a hard cut that still respects the limit.
    return result if len(result) <= limit else result[:limit]


def cut_bytes(text: str, limit: int, tail: str) -> str:
    """Cut plain text to at most `limit` UTF-8 bytes, ending it with `tail` when cut."""
    if len(text.encode()) <= limit:
        return text
    room = max(limit - len(tail.encode()) - 1, 0)
    kept = text.encode()[:room].decode(errors="ignore")
    return f"{kept}\n{tail}"
