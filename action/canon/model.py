"""Load canon documents and resolve what is in force along supersession chains.

A canon document is markdown with YAML frontmatter. Link fields (`supersedes`, `superseded_by`,
`derives_from`) may be a list or a comma-separated string; their entries are URIs or repository
paths.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LINK_FIELDS = ("supersedes", "superseded_by", "derives_from")
_FRONTMATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def split_links(value: Any) -> list[str]:
    """Normalise a link field: a list, a comma-separated string, or nothing."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(i).strip() for i in items if str(i).strip()]


@dataclass
class CanonDoc:
    path: str
    text: str
    body: str
    meta: dict[str, Any]
    uri: str
    title: str
    status: str | None
    links: dict[str, list[str]]

    @property
    def tags(self) -> list[str]:
        return split_links(self.meta.get("tags"))


@dataclass(frozen=True)
class ChainProblem:
    uri: str
    kind: str  # "dangling" or "cyclic"
    detail: str


def parse_document(path: str, text: str) -> CanonDoc:
    """Parse one document; a file without frontmatter gets its path as URI."""
    match = _FRONTMATTER.match(text)
    meta: dict[str, Any] = {}
    body = text
    if match:
        loaded = yaml.safe_load(match.group(1))
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: frontmatter is not a mapping")
        meta = loaded
        body = text[match.end() :]
    uri = str(meta.get("uri") or path)
    title = str(meta.get("title") or Path(path).stem)
    status = str(meta["status"]) if meta.get("status") is not None else None
    links = {name: split_links(meta.get(name)) for name in LINK_FIELDS}
    return CanonDoc(path, text, body, meta, uri, title, status, links)


@dataclass
class Canon:
    docs: list[CanonDoc] = field(default_factory=list)
    # Files that could not be parsed: (path, reason).
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_key: dict[str, CanonDoc] = {}
        for doc in self.docs:
            for key in (doc.uri, doc.path, doc.path.removesuffix(".md"), _strip_scheme(doc.uri)):
                self._by_key.setdefault(key, doc)

    def get(self, ref: str) -> CanonDoc | None:
        """Find a document by URI, path, path without `.md`, or URI without its scheme."""
        ref = ref.strip().split("#")[0].split(" ")[0]
        for key in (ref, ref.removesuffix(".md"), _strip_scheme(ref)):
            if key in self._by_key:
                return self._by_key[key]
        return None

    def successors(self, doc: CanonDoc) -> list[CanonDoc]:
        """Documents that supersede `doc`, named from either side of the link."""
        found = [d for ref in doc.links["superseded_by"] if (d := self.get(ref)) is not None]
        found += [d for d in self.docs if any(self.get(r) is doc for r in d.links["supersedes"])]
        unique: dict[str, CanonDoc] = {d.uri: d for d in found if d is not doc}
        return list(unique.values())

    def in_force(self, doc: CanonDoc) -> CanonDoc:
        """Follow supersession to the document in force; stop at a cycle or a fork."""
        seen = {doc.uri}
        current = doc
        while len(nxt := self.successors(current)) == 1 and nxt[0].uri not in seen:
            current = nxt[0]
            seen.add(current.uri)
        return current

    def chain_problems(self) -> list[ChainProblem]:
        """Report links to documents that do not exist and supersession cycles."""
        problems: list[ChainProblem] = []
        for doc in self.docs:
            for name in ("supersedes", "superseded_by"):
                for ref in doc.links[name]:
                    if self.get(ref) is None:
                        problems.append(ChainProblem(doc.uri, "dangling", f"{name}: {ref}"))
        reported: set[frozenset[str]] = set()
        for doc in self.docs:
            path = [doc.uri]
            current = doc
            while len(nxt := self.successors(current)) == 1:
                current = nxt[0]
                if current.uri in path:
                    cycle = path[path.index(current.uri) :]
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        problems.append(
                            ChainProblem(doc.uri, "cyclic", " -> ".join([*cycle, current.uri]))
                        )
                    break
                path.append(current.uri)
        return problems


def _strip_scheme(ref: str) -> str:
    return ref.split("://", 1)[1] if "://" in ref else ref


def load_canon(root: Path, paths: list[str], skip: Sequence[Path] = ()) -> Canon:
    """Load every markdown document under the configured canon paths of a checkout.

    Folders in `skip` (the PR head, nested in the base workspace) and `.git` are never canon,
    even when a canon path such as `.` covers them; nor is a symlink that leads out of `root`.
    """
    docs: list[CanonDoc] = []
    unreadable: list[tuple[str, str]] = []
    files: set[Path] = set()
    for entry in paths:
        base = root / entry
        if base.is_file():
            files.add(base)
        elif base.is_dir():
            files.update(p for p in base.rglob("*.md") if p.is_file())
    skipped = [s.resolve() for s in skip]
    top = root.resolve()
    for file in sorted(files):
        real = file.resolve()
        outside = top not in real.parents or any(real == s or s in real.parents for s in skipped)
        if outside or ".git" in file.relative_to(root).parts:
            continue
        rel = file.relative_to(root).as_posix()
        try:
            docs.append(parse_document(rel, file.read_text(encoding="utf-8")))
        except (ValueError, yaml.YAMLError, UnicodeDecodeError) as exc:
            unreadable.append((rel, str(exc).splitlines()[0][:200]))
    return Canon(docs, unreadable)
