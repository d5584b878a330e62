"""Say what is wrong with a config file in its author's words: the line of the problem itself,
the key they meant, and what a value must be.

Pure: it reads the YAML parser's and pydantic's errors and the config's models, and returns
text. `action.config` raises it as a `ConfigError`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any, get_args

import yaml
from pydantic import BaseModel
from pydantic_core import ErrorDetails

# What opened on the line the parser names in `context_mark`, and never closed: that line, not
# the one where the parser gave up, is the problem.
_UNCLOSED = {
    "while parsing a flow sequence": "the `[` opened on this line is never closed with `]`",
    "while parsing a flow mapping": "the `{` opened on this line is never closed with `}`",
    "while scanning a quoted scalar": "the quote opened on this line is never closed",
}
# `model: @x`, `model: *x`: characters YAML reserves, where a plain value was meant.
_UNQUOTED = re.compile(r"^found (?:character '(.)' that cannot start any token|undefined alias)")
_PLAIN = {
    "mapping values are not allowed here": "a value holding `: ` must be quoted",
    "expected <block end>": "this line is indented differently from the lines around it",
}


def _quote_line(lines: Sequence[str], number: int) -> str:
    text = lines[number - 1].strip() if 0 < number <= len(lines) else ""
    return f" (the line: `{text[:80]}`)" if text else ""


def _code(line: str) -> str:
    """A line without its comment (near enough: a `#` inside quotes is rare in a config)."""
    return line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _previous_line(lines: Sequence[str], number: int) -> int | None:
    """The number of the last line before `number` that holds more than a comment."""
    return next((n for n in range(number - 1, 0, -1) if _code(lines[n - 1]).strip()), None)


def yaml_problem(exc: yaml.YAMLError, text: str, source: str) -> str:
    """Where and why `text` is not valid YAML, pointing at the line that holds the mistake."""
    lines = text.splitlines()
    problem = str(getattr(exc, "problem", None) or exc).strip()
    context = getattr(exc, "context", None) or ""
    mark = getattr(exc, "problem_mark", None)
    opened = getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    if opened is not None and context in _UNCLOSED:
        line, why = opened.line + 1, _UNCLOSED[context]
    elif "'\\t'" in problem:
        why = "it holds a tab: YAML indents with spaces"
    elif (start := _UNQUOTED.match(problem)) is not None:
        why = f"a value that starts with `{start.group(1) or '*'}` must be quoted"
    elif problem.startswith("mapping values are not allowed") and line is not None:
        # The parser read the line before as the start of a value that runs on into this one:
        # either that line's key has no `:`, or this line is indented deeper than its siblings.
        before = _previous_line(lines, line)
        prior = _code(lines[before - 1]) if before is not None else ""
        if before is not None and ":" not in prior and not prior.lstrip().startswith("-"):
            line, why = before, "this line has no `:` after its key"
        elif before is not None and _indent(lines[line - 1]) > _indent(prior):
            why = "this line is indented deeper than the line before it"
        else:
            why = _PLAIN["mapping values are not allowed here"]
    else:
        why = next((v for k, v in _PLAIN.items() if problem.startswith(k)), problem)
    where = f" line {line}:" if line is not None else ""
    quoted = _quote_line(lines, line) if line is not None else ""
    return f"{source}:{where} not valid YAML: {why}{quoted}"


def duplicate_keys(node: yaml.Node | None, path: tuple[str, ...] = ()) -> list[tuple[int, str]]:
    """Every key set twice in one mapping, as (line, message): YAML would keep only the last."""
    found: list[tuple[int, str]] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value)
            line = key.start_mark.line + 1
            if name in first:
                dotted = ".".join((*path, name))
                found.append((line, f"`{dotted}` is set twice (first on line {first[name]})"))
            first.setdefault(name, line)
            found += duplicate_keys(value, (*path, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found += duplicate_keys(item, (*path, str(index)))
    return found


def line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Follow a pydantic error location through the YAML node tree to a 1-based line: the
    key's own line for a key (an unknown one included), the item's for a list item."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == part), None)
            if pair is None:
                return line
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _models_in(annotation: Any) -> Iterable[type[BaseModel]]:
    """The models a field's type holds: `Limits`, `list[Gate] | None` gives `Gate`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in get_args(annotation):
        yield from _models_in(arg)


def _section(view: type[BaseModel], path: Sequence[int | str]) -> type[BaseModel] | None:
    """The model that validates the mapping at `path` (list indices pass through)."""
    model: type[BaseModel] | None = view
    for part in path:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        model = next(iter(_models_in(field.annotation)), None) if field is not None else None
    return model


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def explain(err: ErrorDetails, view: type[BaseModel], top_level: Sequence[str]) -> str:
    """One validation error in the config author's words. `top_level` lists every top-level
    key either plane reads, so a key of the other plane is suggested too."""
    loc = err["loc"]
    kind, given = err["type"], err.get("input")
    if kind == "extra_forbidden" and loc:
        key, parent = str(loc[-1]), loc[:-1]
        if parent:
            model = _section(view, parent)
            known = list(model.model_fields) if model is not None else []
            where = f"`{'.'.join(str(p) for p in parent)}`"
        else:
            known, where = list(top_level), "the top level"
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        meant = f"did you mean `{close[0]}`? " if close else ""
        return f"unknown key; {meant}{where} takes: {', '.join(known)}"
    if kind == "bool_type":
        return f"must be true or false, unquoted, not {_shown(given)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number, not {_shown(given)}"
    if kind in ("float_type", "float_parsing"):
        return f"must be a number, not {_shown(given)}"
    if kind == "string_type":
        return f"must be text (quote it), not {_shown(given)}"
    if kind == "list_type":
        return f"must be a list, such as [a, b], not {_shown(given)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping of keys, not {_shown(given)}"
    if kind == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        return f"must be {expected}, not {_shown(given)}"
    msg = err["msg"].removeprefix("Value error, ")
    return msg.replace("Input should be", "must be", 1)
