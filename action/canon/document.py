"""Parse one canon document once: its frontmatter values, and the line of every key and link.

A canon document is markdown that opens with a YAML frontmatter block between `---` fences (the
block may also close with `...`; a byte-order mark may precede it). Parsing never raises: what
makes the frontmatter unusable is kept as a problem on the line at fault, which the structural
check reports and the audit's loader reads as a reason to skip the document.

Link fields (`supersedes`, `superseded_by`, `derives_from`) are read as authors write them: a
YAML list, or a comma-separated string whose items may carry a parenthesised annotation that
itself holds commas (`journal/x.tsv (Decision row, Learning row)`) and section markers
(`PROTOCOL.md §7`, `DOC.md#anchor`). Each item that names something is a `Link` whose target is
a URI (`scheme://...`), a path, or a stem (`D0013-homepage`); an item that is prose names
nothing and is not a link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

import yaml

from action.report import StructureProblem

LINK_FIELDS = ("supersedes", "superseded_by", "derives_from")
SUPERSESSION = ("supersedes", "superseded_by")
_OPEN = ("---",)
_CLOSE = ("---", "...")
# Lines are numbered from the file's first line, the opening fence; the block starts on line 2.
_BLOCK_START = 2
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
# libyaml parses ten times faster than the pure-Python loader, with the same marks and values.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

LinkKind = Literal["uri", "path", "stem"]
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
# A path: path characters only, and a folder separator or a file extension (`GLOSSARY.md`).
_PATH_CHARS = re.compile(r"[\w./~+-]+")
_EXTENSION = re.compile(r"[\w~+-]{2,}\.[A-Za-z][A-Za-z0-9]{0,9}")
_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(\s*([^)\s]+)[^)]*\)")
# What authors write for "no link": never a target.
_NOTHING = frozenset({"none", "n/a", "na", "null", "nil", "-", "tbd", "todo"})
_QUOTES = "`'\"<>*_"


@dataclass(frozen=True)
class Link:
    """One item of a link field that names a target, on the line that names it."""

    field: str
    # A URI, a path, or a stem: the item without its sections and annotation.
    target: str
    line: int
    kind: LinkKind = "path"
    # The item as written, annotation and section markers included.
    text: str = ""


# eq=False: a document is itself, so it can key a dict (as its successors do in the model).
@dataclass(frozen=True, eq=False)
class CanonDoc:
    """One document as parsed: its text, frontmatter values with their lines, links and problems."""

    path: str
    text: str
    # The text after the frontmatter block; the whole text when there is no usable block.
    body: str
    meta: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    problems: list[StructureProblem] = field(default_factory=list)
    # "" for this repository's own canon; a canon source's URI prefix for a document read there.
    origin: str = ""

    @property
    def declared_uri(self) -> str | None:
        """The `uri` the document declares: a non-empty string, stripped; None otherwise."""
        uri = self.meta.get("uri")
        return uri.strip() if isinstance(uri, str) and uri.strip() else None

    @property
    def uri(self) -> str:
        """The document's name: its declared URI, else its path."""
        return self.declared_uri or self.path

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or PurePosixPath(self.path).stem)

    @property
    def status(self) -> str | None:
        return str(self.meta["status"]) if self.meta.get("status") is not None else None

    @property
    def readable(self) -> bool:
        """Whether its frontmatter, if it has a block at all, could be read as a mapping."""
        return bool(self.meta) or not any(p.rule in _UNREADABLE for p in self.problems)

    def targets(self, name: str) -> list[str]:
        """The targets of one link field, in the order the document gives them."""
        return [link.target for link in self.links if link.field == name]


# Frontmatter that cannot be read at all: the audit skips such a document.
_UNREADABLE = frozenset({"yaml-invalid", "frontmatter-not-mapping"})


_SEPARATORS = re.compile(r"([,;])")
_INNERMOST_NOTE = re.compile(r"\([^()]*\)")


def split_items(value: str) -> list[str]:
    """Split a link string at commas and semicolons outside parentheses and brackets."""
    if "(" not in value and "[" not in value:
        return [item.strip() for item in _SEPARATORS.split(value)[::2] if item.strip()]
    items: list[str] = []
    depth, pieces = 0, _SEPARATORS.split(value)
    # Pieces alternate with the separators between them (the pattern captures them).
    for at in range(0, len(pieces), 2):
        piece = pieces[at]
        if depth > 0:
            items[-1] += pieces[at - 1] + piece  # inside an annotation: the separator is its own
        else:
            items.append(piece)
        depth += piece.count("(") + piece.count("[") - piece.count(")") - piece.count("]")
        depth = max(depth, 0)
    return [item.strip() for item in items if item.strip()]


def _without_notes(text: str) -> str:
    """Drop every parenthesised annotation (nested ones too), keeping what is outside them."""
    while "(" in text:
        shorter = _INNERMOST_NOTE.sub(" ", text)
        if shorter == text:
            return text.split("(", 1)[0]  # one left open: it runs to the end
        text = shorter
    return text


def parse_item(item: str) -> tuple[str, LinkKind] | None:
    """Read one link item: its target and what kind of name it is; None for prose."""
    markdown = _MARKDOWN_LINK.search(item)
    words = (markdown[1] if markdown else _without_notes(item)).split()
    if not words:
        return None
    first = words[0].strip(_QUOTES).rstrip(".,;:")
    # `DOC.md#anchor` and `SPEC.md§3`: the section is not part of the target.
    target = re.split(r"[#§]", first, maxsplit=1)[0].strip(_QUOTES)
    if not target or target.lower() in _NOTHING or any(c in target for c in "*?["):
        return None
    if _URI.fullmatch(target):
        return target, "uri"
    if _PATH_CHARS.fullmatch(target) and (
        "/" in target.strip("/") or _EXTENSION.fullmatch(PurePosixPath(target).name)
    ):
        return target, "path"
    # A bare name is a stem only when nothing but section markers follows it: else it is prose.
    rest = [w for w in words[1:] if not w.startswith(("§", "#"))]
    if not rest and _STEM.fullmatch(target):
        return target, "stem"
    return None


def _item_lines(node: yaml.ScalarNode, items: list[str], source: list[str]) -> list[int]:
    """The line of each item of a string value, which may be folded over several lines."""
    first = node.start_mark.line
    lines = source[first : node.end_mark.line + 1]
    found, at = [], 0
    for item in items:
        head = item.split()[0]
        row = next((i for i in range(at, len(lines)) if head in lines[i]), None)
        if row is not None:
            at = row
        found.append(first + at + _BLOCK_START)
    return found


def _values(node: yaml.Node, source: list[str]) -> list[tuple[str, int]] | None:
    """The items of a link or tag value with their lines: a YAML list, or a separated string.

    None when the value is neither (a mapping, or a list holding more than plain values).
    """
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _NULL:
            return []
        items = split_items(str(node.value))
        return list(zip(items, _item_lines(node, items, source), strict=True))
    if isinstance(node, yaml.SequenceNode) and all(
        isinstance(item, yaml.ScalarNode) for item in node.value
    ):
        return [
            (str(item.value).strip(), item.start_mark.line + _BLOCK_START)
            for item in node.value
            if str(item.value).strip()
        ]
    return None


def parse_document(path: str, text: str) -> CanonDoc:
    """Parse one document; a file without usable frontmatter says why in its problems."""
    content = text.removeprefix("\ufeff")
    lines = content.splitlines()

    def unusable(line: int, rule: str, message: str) -> CanonDoc:
        problem = StructureProblem(path=path, line=max(line, 1), rule=rule, message=message)
        return CanonDoc(path, text, text, problems=[problem])

    if not lines or lines[0].rstrip() not in _OPEN:
        return unusable(1, "frontmatter-missing", "The file has no YAML frontmatter (`---` block).")
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in _CLOSE), None)
    if end is None:
        return unusable(
            1, "frontmatter-unclosed", "The frontmatter block opened here is never closed."
        )
    block = lines[1:end]
    try:
        root, values = _load("\n".join(block))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        # An unclosed quote or bracket is noticed only where the block ends: point at its start.
        context = str(getattr(exc, "context", None) or "")
        start = getattr(exc, "context_mark", None)
        if ("quoted scalar" in context or "flow" in context) and start is not None:
            mark = start
        line = mark.line + _BLOCK_START if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        return unusable(line, "yaml-invalid", f"The frontmatter is not valid YAML: {reason}.")
    if not isinstance(root, yaml.MappingNode) or not isinstance(values, dict):
        return unusable(1, "frontmatter-not-mapping", "The frontmatter must be a mapping of keys.")
    key_lines: dict[str, int] = {}
    nodes: dict[str, yaml.Node] = {}
    for key_node, value_node in root.value:
        # A key given twice: YAML keeps the last value, and so do its line and its links.
        key_lines[str(key_node.value)] = key_node.start_mark.line + _BLOCK_START
        nodes[str(key_node.value)] = value_node
    links: list[Link] = []
    problems: list[StructureProblem] = []
    for key in LINK_FIELDS:
        if key not in nodes:
            continue
        items = _values(nodes[key], block)
        if items is None:
            message = f"`{key}` must be a list of targets or a comma-separated string."
            problems.append(
                StructureProblem(path=path, line=key_lines[key], rule="link-shape", message=message)
            )
            continue
        for item, line in items:
            parsed = parse_item(item)
            if parsed is not None:
                links.append(Link(key, parsed[0], line, parsed[1], item))
    tags = [tag for tag, _ in _values(nodes["tags"], block) or []] if "tags" in nodes else []
    return CanonDoc(
        path,
        text,
        body="".join(content.splitlines(keepends=True)[end + 1 :]),
        meta={str(k): v for k, v in values.items()},
        lines=key_lines,
        links=sorted(links, key=lambda link: (link.line, LINK_FIELDS.index(link.field))),
        tags=tags,
        problems=problems,
    )


def _load(block: str) -> tuple[yaml.Node | None, Any]:
    """Compose the block, then build its values from the same nodes: one YAML parse.

    A frontmatter block is a flat mapping of mostly strings: those are taken from their nodes
    as they are; anything else is built by YAML's own safe constructor.
    """
    loader = _LOADER(block)
    try:
        root = loader.get_single_node()
        if not isinstance(root, yaml.MappingNode) or any(
            not isinstance(k, yaml.ScalarNode) or k.tag == _MERGE for k, _ in root.value
        ):
            return root, loader.construct_document(root) if root is not None else None
        values = {}
        for key, value in root.value:
            if isinstance(value, yaml.ScalarNode) and value.tag == _STR:
                values[key.value] = value.value
            else:
                values[key.value] = loader.construct_object(value, deep=True)
        return root, values
    finally:
        loader.dispose()
