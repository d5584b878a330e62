"""The purely structural check of canon frontmatter, for the canon files a pull request changes.

Required fields, known `status` values, resolvable supersession and derivation links, no
supersession cycles, and YAML that parses at all. Every problem points at the exact line of the
key (or list item) at fault, so the App can annotate it. It never sets the session's verdict: its
problems travel in `Report.structure` and gate only as their own check run.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import yaml

from action.config import Config
from action.report import StructureProblem

LINK_FIELDS = ("supersedes", "superseded_by", "derives_from")
_FENCE = ("---",)
_CLOSE = ("---", "...")


@dataclass(frozen=True)
class _Link:
    field: str
    target: str
    line: int


@dataclass
class _Doc:
    """One canon file's frontmatter: its values, the line of each key, and its link targets."""

    path: str
    uri: str | None = None
    values: dict[str, object] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    links: list[_Link] = field(default_factory=list)
    problems: list[StructureProblem] = field(default_factory=list)


def is_canon_path(path: str, config: Config) -> bool:
    """Tell whether a repository path is a canon document under the configured canon paths."""
    if not path.endswith(".md"):
        return False
    for root in config.canon.paths:
        root = root.strip("/")
        if any(ch in root for ch in "*?["):
            if fnmatch(path, root):
                return True
        elif root in ("", ".") or path.startswith(root + "/") or path == root:
            return True
    return False


def _problem(doc: _Doc, line: int, rule: str, message: str) -> None:
    doc.problems.append(
        StructureProblem(path=doc.path, line=max(line, 1), rule=rule, message=message)
    )


def _split_targets(node: yaml.Node, offset: int) -> Iterator[tuple[str, int]] | None:
    """Yield (target, line) for a link value: a YAML list, or a comma-separated string."""
    line = node.start_mark.line + offset
    if isinstance(node, yaml.ScalarNode):
        if node.tag == "tag:yaml.org,2002:null":
            return iter(())
        return ((part.strip(), line) for part in str(node.value).split(",") if part.strip())
    if isinstance(node, yaml.SequenceNode) and all(
        isinstance(item, yaml.ScalarNode) for item in node.value
    ):
        return (
            (str(item.value).strip(), item.start_mark.line + offset)
            for item in node.value
            if str(item.value).strip()
        )
    return None


def _parse(path: str, text: str) -> _Doc:
    """Read the frontmatter block of one file, recording problems with exact lines."""
    doc = _Doc(path=path)
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].rstrip() not in _FENCE:
        _problem(doc, 1, "frontmatter-missing", "The file has no YAML frontmatter (`---` block).")
        return doc
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in _CLOSE), None)
    if end is None:
        _problem(
            doc, 1, "frontmatter-unclosed", "The frontmatter block opened here is never closed."
        )
        return doc
    # Line numbers in the block are 0-based from the line after the opening fence (line 2).
    offset = 2
    block = "\n".join(lines[1:end])
    try:
        root = yaml.compose(block, Loader=yaml.SafeLoader)
        values = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + offset if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        _problem(doc, line, "yaml-invalid", f"The frontmatter is not valid YAML: {reason}.")
        return doc
    if not isinstance(root, yaml.MappingNode) or not isinstance(values, dict):
        _problem(doc, 1, "frontmatter-not-mapping", "The frontmatter must be a mapping of keys.")
        return doc
    doc.values = {str(k): v for k, v in values.items()}
    for key_node, value_node in root.value:
        key = str(key_node.value)
        doc.lines[key] = key_node.start_mark.line + offset
        if key not in LINK_FIELDS:
            continue
        targets = _split_targets(value_node, offset)
        if targets is None:
            _problem(
                doc,
                doc.lines[key],
                "link-shape",
                f"`{key}` must be a list of targets or a comma-separated string.",
            )
            continue
        doc.links.extend(_Link(key, target, line) for target, line in targets)
    uri = doc.values.get("uri")
    doc.uri = uri.strip() if isinstance(uri, str) and uri.strip() else None
    return doc


def _check_fields(doc: _Doc, config: Config) -> None:
    for name in config.structure.required:
        value = doc.values.get(name)
        if name not in doc.values:
            _problem(doc, 1, "required-field", f"The required field `{name}` is missing.")
        elif value is None or (isinstance(value, str) and not value.strip()):
            _problem(
                doc, doc.lines[name], "required-field", f"The required field `{name}` is empty."
            )
    if "status" in doc.values and doc.values["status"] is not None:
        status = doc.values["status"]
        known = sorted(config.structure.known_statuses)
        if not isinstance(status, str) or status.strip() not in config.structure.known_statuses:
            _problem(
                doc,
                doc.lines["status"],
                "unknown-status",
                f"`status: {status}` is not a known status; use one of {', '.join(known)}.",
            )


class _Index:
    """Resolve a link target by URI, by repository path, or by a path relative to the file."""

    def __init__(self, docs: Mapping[str, _Doc]) -> None:
        self.paths = set(docs)
        self.uris = {doc.uri: path for path, doc in docs.items() if doc.uri}

    def resolve(self, target: str, source: str) -> str | None:
        bare = target.split("#", 1)[0].split(" §", 1)[0].strip()
        if bare in self.uris:
            return self.uris[bare]
        candidates = [bare.lstrip("/")]
        if "://" not in bare:
            candidates.append(posixpath.normpath(posixpath.join(posixpath.dirname(source), bare)))
        for candidate in candidates:
            for path in (candidate, candidate + ".md"):
                if path in self.paths:
                    return path
        return None


def _supersession_edges(docs: Mapping[str, _Doc], index: _Index) -> dict[str, set[str]]:
    """Map each document to those it supersedes, from both directions of the relation."""
    edges: dict[str, set[str]] = {path: set() for path in docs}
    for path, doc in docs.items():
        for link in doc.links:
            target = index.resolve(link.target, path)
            if target is None:
                continue
            if link.field == "supersedes":
                edges[path].add(target)
            elif link.field == "superseded_by":
                edges[target].add(path)
    return edges


def _in_cycle(start: str, edges: Mapping[str, set[str]]) -> bool:
    """Tell whether `start` can reach itself by following supersession edges."""
    seen: set[str] = set()
    stack = list(edges.get(start, ()))
    while stack:
        node = stack.pop()
        if node == start:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(edges.get(node, ()))
    return False


def check_structure(
    changed: Mapping[str, str],
    base_canon: Mapping[str, str],
    config: Config,
    *,
    deleted: Collection[str] = (),
) -> list[StructureProblem]:
    """Check the frontmatter of the changed canon files; return problems in path and line order.

    `changed` maps each canon path the PR adds or modifies to its text at the PR head;
    `base_canon` maps the base branch's canon paths to their text; `deleted` lists canon paths the
    PR removes. Links resolve against the base canon with the PR's changes applied.
    """
    if not config.structure.enabled:
        return []
    checked = {
        path: _parse(path, text) for path, text in changed.items() if is_canon_path(path, config)
    }
    union: dict[str, _Doc] = {
        path: _parse(path, text)
        for path, text in base_canon.items()
        if path not in checked and path not in deleted
    }
    union.update(checked)
    index = _Index(union)
    edges = _supersession_edges(union, index)
    for path, doc in checked.items():
        if doc.problems and not doc.values:
            continue  # Unparseable: its one problem says why, and there is nothing more to check.
        _check_fields(doc, config)
        for link in doc.links:
            if index.resolve(link.target, path) is None:
                _problem(
                    doc,
                    link.line,
                    "dangling-link",
                    f"`{link.field}` names `{link.target}`, which is not a canon document "
                    "(by URI or path) on the base branch or in this PR.",
                )
        if _in_cycle(path, edges):
            field_line = min(
                (doc.lines[name] for name in ("supersedes", "superseded_by") if name in doc.lines),
                default=1,
            )
            _problem(
                doc,
                field_line,
                "supersession-cycle",
                "The supersession chain through this document loops back to it, so no "
                "document in the chain is in force.",
            )
    problems = [problem for doc in checked.values() for problem in doc.problems]
    return sorted(problems, key=lambda p: (p.path, p.line, p.rule))


def check_checkouts(
    base_dir: Path, head_dir: Path, changes: Iterable[tuple[str, str]], config: Config
) -> list[StructureProblem] | None:
    """Run the check over the two checkouts; None when it is off or the PR changes no canon.

    `changes` are the PR's own (path, status) pairs, status added, modified or deleted, taken
    from the merge-base; links resolve against the governing base checkout's canon.
    """
    if not config.structure.enabled:
        return None
    touched = [(p, s) for p, s in changes if is_canon_path(p, config)]
    if not touched:
        return None
    changed = {
        p: (head_dir / p).read_text(encoding="utf-8", errors="replace")
        for p, s in touched
        if s != "deleted"
    }
    deleted = [p for p, s in touched if s == "deleted"]
    base_canon = {
        path.relative_to(base_dir).as_posix(): path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(base_dir.rglob("*.md"))
        if ".canon-gate" not in path.relative_to(base_dir).parts
        and is_canon_path(path.relative_to(base_dir).as_posix(), config)
    }
    return check_structure(changed, base_canon, config, deleted=deleted)
