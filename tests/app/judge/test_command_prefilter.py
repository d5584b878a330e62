"""The cheap test before a comment is parsed never skips a comment that holds a command."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.judge import commands
from app.judge.commands import Rerun, parse_command

# Pieces that build commands, markup that hides or stands for characters, and plain words.
PIECES = [
    *("/canon-gate", "/CANON-Gate", "/canon", "-gate", "canon-gate", "/"),
    *(" rerun", " help", " approve 0123456789ab", " waive cg-0123abcd45 ok"),
    *("&#47;", "&sol;", "&#x63;", "&amp;", "\\/", "\\-", "*", "_", "`", "[", "](x)", "!["),
    *("<b>", "</b>", "<!--", "-->", "<http://x>", "!", " ", "\n", "\n\n", "    ", "> ", "- "),
    "Looks good",
]
SEARCH = settings(max_examples=800, deadline=None, database=None)


@SEARCH
@given(st.lists(st.sampled_from(PIECES), max_size=14).map("".join))
def test_the_cheap_test_never_changes_what_a_comment_says(body: str) -> None:
    assert parse_command(body) == commands._parse(body)


# Markup a reader does not see, wrapped around a stretch of the command word; or a reference or
# an escape that stands for a character of it.
WRAPS = [("*", "*"), ("_", "_"), ("**", "**"), ("[", "](x)"), ("![", "](x)"), ("`", "`")]
WRAPS += [("<b>", "</b>"), ("<!-- x -->", ""), ("&#45;", ""), ("&amp;", ""), ("\\", "")]


@st.composite
def split_commands(draw: st.DrawFn) -> str:
    """`/canon-gate rerun` with markup around, or a reference or escape inside, its word."""
    word = draw(st.sampled_from(["/canon-gate", "/Canon-GATE"]))
    start = draw(st.integers(0, len(word)))
    stop = draw(st.integers(start, len(word)))
    opening, closing = draw(st.sampled_from(WRAPS))
    before = draw(st.sampled_from(["", "Hi\n", "Hi\n\n", "x "]))
    wrapped = word[:start] + opening + word[start:stop] + closing + word[stop:]
    return before + wrapped + " rerun"


@SEARCH
@given(split_commands())
def test_the_cheap_test_never_skips_a_command_spelt_with_markup(body: str) -> None:
    assert parse_command(body) == commands._parse(body)


@SEARCH
@given(st.text(max_size=80))
def test_the_cheap_test_never_changes_what_any_text_says(body: str) -> None:
    assert parse_command(body) == commands._parse(body)


def test_plain_comments_are_skipped_and_commands_are_not() -> None:
    assert not commands._may_hold_command("Looks good to me!")
    assert commands._may_hold_command("Sure.\n/Canon-Gate rerun")
    assert parse_command("Sure.\n/Canon-Gate rerun") == Rerun()
    assert commands._may_hold_command("&#47;canon-gate rerun")
    assert parse_command("&#47;canon-gate rerun") == Rerun()
