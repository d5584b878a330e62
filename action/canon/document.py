"""Parse one canon document once: its frontmatter values, and the line of every key and link.

A canon document is markdown that opens with a YAML frontmatter block between `---` fences (the
block may also close with `...`). Link fields (`supersedes`, `superseded_by`, `derives_from`) hold
a YAML list or a comma-separated string of URIs or repository paths. Parsing never raises: what
makes the frontmatter unusable is kept as a problem on the line at fault, which the structural
check reports and the audit's loader reads as a reason to skip the document.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from action.report import StructureProblem

LINK_FIELDS = ("supersedes", "superseded_by", "derives_from")
_OPEN = ("---",)
_CLOSE = ("---", "...")
# Lines are numbered from the file's first line, the opening fence; the block starts on line 2.
_BLOCK_START = 2
_NULL = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class Link:
    """One target of a link field, on the line that names it."""

    field: str
    target: str
    line: int


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
    # How the block was fenced (the audit's loader recognises fewer fences than the check): a
    # byte-order mark before it, and its closing fence and that fence's line.
    bom: bool = False
    closer: str | None = None
    closer_line: int | None = None

    @property
    def uri(self) -> str:
        """The audit's URI: the `uri` value as text, else the document's path."""
        return str(self.meta.get("uri") or self.path)

    @property
    def declared_uri(self) -> str | None:
        """The structural check's URI: a non-empty `uri` string, stripped; None otherwise."""
        uri = self.meta.get("uri")
        return uri.strip() if isinstance(uri, str) and uri.strip() else None

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or Path(self.path).stem)

    @property
    def status(self) -> str | None:
        return str(self.meta["status"]) if self.meta.get("status") is not None else None

    def targets(self, name: str) -> list[str]:
        """The targets of one link field, in the order the document gives them."""
        return [link.target for link in self.links if link.field == name]

    def without_frontmatter(self) -> CanonDoc:
        """The same file read as if it had no frontmatter block at all."""
        return dataclasses.replace(
            self, body=self.text, meta={}, lines={}, links=[], tags=[], problems=[]
        )


def split_links(node: yaml.Node) -> list[tuple[str, int]] | None:
    """Split a link value into (target, line): a YAML list, or a comma-separated string.

    None when the value is neither (a mapping, or a list holding more than plain values).
    """
    line = node.start_mark.line + _BLOCK_START
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _NULL:
            return []
        return [(part.strip(), line) for part in str(node.value).split(",") if part.strip()]
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
    bom = text.startswith("\ufeff")
    content = text.lstrip("\ufeff")
    lines = content.splitlines()

    def unusable(line: int, rule: str, message: str, end: int | None = None) -> CanonDoc:
        problem = StructureProblem(path=path, line=max(line, 1), rule=rule, message=message)
        if end is None:
            return CanonDoc(path, text, text, problems=[problem], bom=bom)
        closer = lines[end].rstrip()
        return CanonDoc(
            path, text, text, problems=[problem], bom=bom, closer=closer, closer_line=end + 1
        )

    if not lines or lines[0].rstrip() not in _OPEN:
        return unusable(1, "frontmatter-missing", "The file has no YAML frontmatter (`---` block).")
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in _CLOSE), None)
    if end is None:
        return unusable(
            1, "frontmatter-unclosed", "The frontmatter block opened here is never closed."
        )
    try:
        root, values = _load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + _BLOCK_START if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        return unusable(line, "yaml-invalid", f"The frontmatter is not valid YAML: {reason}.", end)
    if not isinstance(root, yaml.MappingNode) or not isinstance(values, dict):
        message = "The frontmatter must be a mapping of keys."
        return unusable(1, "frontmatter-not-mapping", message, end)
    key_lines: dict[str, int] = {}
    links: list[Link] = []
    tags: list[str] = []
    problems: list[StructureProblem] = []
    for key_node, value_node in root.value:
        key = str(key_node.value)
        key_lines[key] = key_node.start_mark.line + _BLOCK_START
        if key == "tags":
            tags = [tag for tag, _ in split_links(value_node) or []]
        if key not in LINK_FIELDS:
            continue
        targets = split_links(value_node)
        if targets is None:
            message = f"`{key}` must be a list of targets or a comma-separated string."
            problems.append(
                StructureProblem(path=path, line=key_lines[key], rule="link-shape", message=message)
            )
            continue
        links.extend(Link(key, target, line) for target, line in targets)
    return CanonDoc(
        path,
        text,
        body="".join(content.splitlines(keepends=True)[end + 1 :]),
        meta={str(k): v for k, v in values.items()},
        lines=key_lines,
        links=links,
        tags=tags,
        problems=problems,
        bom=bom,
        closer=lines[end].rstrip(),
        closer_line=end + 1,
    )


def _load(block: str) -> tuple[yaml.Node | None, Any]:
    """Compose the block, then build its values from the same nodes: one YAML parse."""
    loader = yaml.SafeLoader(block)
    try:
        root = loader.get_single_node()
        return root, loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
