"""Config errors in the author's words (issue 15, item 16): the key they meant, the keys a
section takes, the line of the YAML mistake itself, and no value coerced into a flag."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from action.config import TOP_LEVEL_KEYS, AppConfig, Config, ConfigError, Limits, parse_config


def error(text: str, view: type[Config] | type[AppConfig] = Config) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_config(text, view=view)
    return str(raised.value)


@pytest.mark.parametrize("view", [Config, AppConfig])
def test_a_misspelt_key_is_offered_the_key_meant_and_its_sections_keys(
    view: type[Config] | type[AppConfig],
) -> None:
    said = error("canon:\n  paths: [canon]\nlimits:\n  max_turn: 5\n", view)
    assert said.startswith(".github/canon-gate.yml: line 4: `limits.max_turn`: unknown key")
    assert "did you mean `max_turns`?" in said
    assert f"`limits` takes: {', '.join(Limits.model_fields)}" in said


@pytest.mark.parametrize("view", [Config, AppConfig])
def test_a_misspelt_top_level_key_points_at_its_own_line(
    view: type[Config] | type[AppConfig],
) -> None:
    # The key's line, not its value's (a nested mapping starts a line later).
    said = error("model: null\nlimts:\n  max_turns: 5\n", view)
    assert said.startswith(".github/canon-gate.yml: line 2: `limts`: unknown key")
    assert "did you mean `limits`?" in said
    # Every top-level key either plane reads: a key of the other plane is no error.
    assert ", ".join(TOP_LEVEL_KEYS) in said
    assert "did you mean `ledger`?" in error("ledgr: false\n", view)


def test_a_gates_misspelt_limit_names_the_gates_own_limits() -> None:
    said = error("gates:\n  - name: a\n    persona: [x]\n    limits: {max_turn: 3}\n")
    assert "line 4: `gates.0.limits.max_turn`: unknown key; did you mean `max_turns`?" in said
    assert "takes: max_turns, max_budget_usd, wall_time_seconds" in said


def test_nothing_close_is_offered_no_guess() -> None:
    said = error("limits:\n  colour: blue\n")
    assert "did you mean" not in said
    assert "`limits` takes: max_turns" in said


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        # The parser gives up where the next key starts; the mistake is the line that opened.
        ("canon:\n  paths: [canon\nmodel: x\n", 2, "the `[` opened on this line is never closed"),
        ("limits: {max_turns: 5\nmodel: x\n", 1, "the `{` opened on this line is never closed"),
        ('model: "abc\nledger: true\nauth: auto\n', 1, "the quote opened on this line"),
        # A key without its colon runs on into the next line, where the parser stops.
        ("limits:\n  max_turns 5\n  wall_time_seconds: 30\n", 2, "has no `:` after its key"),
        ("ledger true\ncomment: false\n", 1, "has no `:` after its key"),
        ("limits:\n  max_turns: 5\n   wall_time_seconds: 30\n", 3, "indented deeper"),
        ("limits:\n  max_turns: 5\n wall_time_seconds: 30\n", 3, "indented differently"),
        ("limits:\n\tmax_turns: 5\n", 2, "YAML indents with spaces"),
        ("model: a: b\n", 1, "a value holding `: ` must be quoted"),
        ("model: @x\n", 1, "a value that starts with `@` must be quoted"),
    ],
)
def test_a_yaml_mistake_is_named_at_its_own_line(text: str, line: int, says: str) -> None:
    said = error(text)
    assert said.startswith(f".github/canon-gate.yml: line {line}: not valid YAML: "), said
    assert says in said
    assert "\n" not in said


def test_a_key_set_twice_is_refused() -> None:
    # YAML would keep the second silently; the first is what the author may be reading.
    said = error("ledger: true\ncomment: false\nledger: false\n", AppConfig)
    assert said == ".github/canon-gate.yml: line 3: `ledger` is set twice (first on line 1)"
    assert "line 4: `limits.max_turns` is set twice" in error(
        "limits:\n  max_turns: 5\n  # again\n  max_turns: 6\n"
    )


def _bool_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, field in model.model_fields.items():
        annotation: Any = field.annotation
        if annotation is bool or bool in get_args(annotation):
            yield (*prefix, name)
        for inner in (annotation, *get_args(annotation)):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                yield from _bool_paths(inner, (*prefix, name))
            for item in get_args(inner):
                # A flag inside a list of sections would need the item's required keys here.
                assert not (
                    isinstance(item, type)
                    and issubclass(item, BaseModel)
                    and any(_bool_paths(item))
                ), f"extend this test to flags inside `{name}` items"


def _nested(path: tuple[str, ...], value: str) -> str:
    return "".join(f"{'  ' * depth}{key}:\n" for depth, key in enumerate(path[:-1])) + (
        f"{'  ' * (len(path) - 1)}{path[-1]}: {value}\n"
    )


FLAGS = [(view, path) for view in (Config, AppConfig) for path in _bool_paths(view)]


def test_every_flag_of_both_views_is_checked() -> None:
    paths = {".".join(path) for _, path in FLAGS}
    assert {"ledger", "comment", "suggestions", "sarif", "forks.require_approval"} <= paths
    assert {"structure.enabled", "waivers.allow_author", "reaudit_on_canon_change.enabled"} <= paths


@pytest.mark.parametrize(("view", "path"), FLAGS, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("value", ['"yes"', "1", "'true'", "0", "[]"])
def test_a_flag_takes_only_true_or_false(
    view: type[Config] | type[AppConfig], path: tuple[str, ...], value: str
) -> None:
    """`ledger: "yes"` or `comment: 1` is refused, never coerced into a flag."""
    said = error(_nested(path, value), view)
    assert f"`{'.'.join(path)}`: must be true or false, unquoted" in said
    for flag in ("true", "false"):
        parse_config(_nested(path, flag), view=view)


def test_strict_values_still_take_what_yaml_writes() -> None:
    config = parse_config("limits:\n  max_budget_usd: 5\n  max_turns: 12\nverify:\n  votes: 3\n")
    assert (config.limits.max_budget_usd, config.limits.max_turns, config.verify.votes) == (
        5,
        12,
        3,
    )
    said = error("limits:\n  max_turns: '12'\n")
    assert "line 2: `limits.max_turns`: must be a whole number, not '12'" in said
    assert "`auth`: must be 'auto', 'subscription'" in error("auth: oauth\n")
    assert "`audit.paths`: must be a list" in error("audit:\n  paths: src\n")
