"""PR comment commands: what a comment asks for, read as a reader sees it (CommonMark).

Pure. `app.judge.grants` decides whether a command may run; `app.judge.replies` says so.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

from action.markdown import inline, shorten

PREFIX = "/canon-gate"


FINDING_ID = re.compile(r"^cg-[0-9a-f]{10}$")


# At least 12 hex digits: a shorter prefix could be forged by a fork author while the maintainer
# reviews (7 digits are 28 bits, minutes of work).
HEAD_SHA = re.compile(r"^[0-9a-f]{12,40}$")


MAX_REASON = 1000


HELP = f"""\
**canon-gate commands** (in a new comment on the pull request, as plain text on a line of \
their own: a command in code, a quote, a list or an HTML comment is not read):

- `{PREFIX} waive <finding-id> <reason>`: let one finding pass on this pull request, with \
the reason recorded in the `canon-gate/ledger` branch. Needs write, maintain or admin \
permission, and someone other than the pull request's author (unless `waivers.allow_author` \
is on). The waiver follows the finding across pushes while it persists, never carries to \
another pull request, and expires after `waivers.expire_days` when that is set.
- `{PREFIX} unwaive <finding-id>`: end a waiver on this pull request, so the finding counts \
again. Needs write, maintain or admin permission.
- `{PREFIX} approve <head-sha>`: let the audit session read a pull request from a fork, at \
the head commit you reviewed (12 or more of its hex digits; the full SHA is safest). Needs write, \
maintain or admin permission. If the pull request's head is another commit by then, nothing \
starts, and the reply names the current head.
- `{PREFIX} rerun`: audit the pull request's current head again. It never approves a fork's \
pull request: that takes `{PREFIX} approve <head-sha>`.
- `{PREFIX} help`: show this message.

Finding ids look like `cg-0123abcd45` and are listed in the `canon-gate` check run."""


@dataclass(frozen=True)
class Waive:
    finding_id: str
    reason: str


@dataclass(frozen=True)
class Unwaive:
    finding_id: str
    reason: str = ""


@dataclass(frozen=True)
class Approve:
    """The go-ahead for a fork PR, bound to the head commit the maintainer reviewed."""

    sha: str  # a prefix (12 to 40 hex digits) of the head SHA


@dataclass(frozen=True)
class Rerun:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Malformed:
    """A line addressed to canon-gate that is not a valid command; `reply` says what is wrong."""

    reply: str


Command = Waive | Unwaive | Approve | Rerun | Help | Malformed


# CommonMark, as GitHub renders comments (GFM is a superset; its extensions add no place where
# a command could hide as plain text). Built once: parsing is pure and the parser is reusable.
_MARKDOWN = MarkdownIt("commonmark")


def _visible(token: Token) -> str:
    """The text a reader sees for one inline token; markup and HTML show nothing of their own."""
    if token.type == "text":
        return token.content
    if token.type == "code_inline":
        # Kept visibly code, so a command shown as code never reads as one.
        return f"`{token.content}`"
    if token.type == "image":
        return token.content
    return ""  # html_inline (hidden), emphasis and link markers (their text is a text token)


def _command_lines(body: str) -> Iterator[str]:
    """Yield the lines a reader sees as plain text in the comment's top-level paragraphs.

    The comment is parsed as CommonMark: code blocks (indented or fenced, even a fence left
    open), HTML blocks and comments, block quotes, lists and headings hold no command. A line
    counts only when its first token is plain text, so a command inside inline code or an
    inline HTML comment stays hidden, as it is to a reader.
    """
    tokens = _MARKDOWN.parse(body)
    for opening, content in itertools.pairwise(tokens):
        if opening.type != "paragraph_open" or opening.level != 0 or content.type != "inline":
            continue
        line: list[Token] = []
        for child in [*(content.children or []), Token("softbreak", "", 0)]:
            if child.type not in ("softbreak", "hardbreak"):
                line.append(child)
                continue
            if line and line[0].type == "text":
                yield "".join(_visible(t) for t in line).strip()
            line = []


# What can make a reader see text that is not spelled out in the source: a character reference or
# a backslash escape stands for another character, and emphasis, code, links, images and inline
# HTML interleave markup that is not shown. Without any of these, what a reader sees of a line
# is a stretch of the source.
_MARKUP = frozenset("&\\`*_[<")


def _may_hold_command(body: str) -> bool:
    """False only when no line of `body` can read as a command: a cheap test before parsing."""
    return PREFIX in body.lower() or not _MARKUP.isdisjoint(body)


def parse_command(body: str | None) -> Command | None:
    """Find the first `/canon-gate` command line in a comment; None when there is none."""
    if not body or not _may_hold_command(body):
        return None  # most comments say nothing to canon-gate; parsing them costs the most
    return _parse(body)


def _parse(body: str) -> Command | None:
    for line in _command_lines(body):
        words = line.split(None, 1)
        if not words or words[0].lower() != PREFIX:
            continue
        rest = words[1].strip() if len(words) > 1 else ""
        verb, _, args = rest.partition(" ")
        verb = verb.lower()
        if verb == "waive":
            return _parse_waive(args.strip())
        if verb == "unwaive":
            return _parse_unwaive(args.strip())
        if verb == "approve":
            return _parse_approve(args.strip())
        if verb == "rerun" and not args.strip():
            return Rerun()
        if verb == "help" and not args.strip():
            return Help()
        # Echo the text escaped: a comment must not make the App post mentions, links or images.
        shown = inline(shorten(f"{PREFIX} {rest}", 80))
        return Malformed(f"{shown} is not a canon-gate command.\n\n{HELP}")
    return None


def _finding_id(args: str, usage: str) -> tuple[str, str] | Malformed:
    """Split a finding id off the arguments; say what is wrong when there is none."""
    finding_id, _, rest = args.partition(" ")
    finding_id = finding_id.strip().lower()
    if not finding_id:
        return Malformed(f"Which finding? {usage}")
    if not FINDING_ID.match(finding_id):
        return Malformed(
            f"{inline(shorten(finding_id, 40))} is not a finding id: ids look like `cg-` "
            f"followed by 10 hex digits, as listed in the `canon-gate` check run. {usage}"
        )
    return finding_id, rest.strip()


def _parse_waive(args: str) -> Waive | Malformed:
    usage = f"Usage: `{PREFIX} waive <finding-id> <reason>`."
    parsed = _finding_id(args, usage)
    if isinstance(parsed, Malformed):
        return parsed
    finding_id, reason = parsed
    if not reason:
        return Malformed(f"A waiver needs a reason, and it is recorded in the ledger. {usage}")
    if len(reason) > MAX_REASON:
        return Malformed(f"The reason is longer than {MAX_REASON} characters; please shorten it.")
    return Waive(finding_id=finding_id, reason=reason)


def _parse_unwaive(args: str) -> Unwaive | Malformed:
    parsed = _finding_id(args, f"Usage: `{PREFIX} unwaive <finding-id>`.")
    if isinstance(parsed, Malformed):
        return parsed
    finding_id, reason = parsed
    if len(reason) > MAX_REASON:
        return Malformed(f"The reason is longer than {MAX_REASON} characters; please shorten it.")
    return Unwaive(finding_id, reason)


def _parse_approve(args: str) -> Approve | Malformed:
    sha = args.lower()
    usage = (
        f"Usage: `{PREFIX} approve <head-sha>`, with at least 12 hex digits of the head commit "
        "you reviewed."
    )
    if not sha:
        return Malformed(f"Which commit? {usage}")
    if not HEAD_SHA.match(sha):
        return Malformed(f"{inline(shorten(args, 50))} is not a commit SHA. {usage}")
    return Approve(sha)
