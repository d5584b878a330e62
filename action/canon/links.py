"""Resolve what a link names: the one rule the audit, the tools and the structural check share.

A target (see `document.parse_item`) resolves to one of:

- a canon document of this repository: by URI, by path (from the repository root, or relative
  to the linking document; `.md` may be left out), or by a stem its file or URI ends in, when
  exactly one document has it (more than one: `ambiguous`);
- a canon document of a configured source, for a URI under that source's prefix;
- a file (or folder) of the repository that is not canon: it exists, so the link is fine;
- another knowledge base: a URI whose scheme no canon document of this repository uses
  (`external`, never checked);
- nothing (`missing`): a URI in this canon's scheme, or a repository path, that names nothing.

`unchecked` is what cannot be told: a path when the repository's files are not known, or one
that leads out of the repository.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from action.canon.document import CanonDoc, LinkKind, parse_item

Outcome = Literal["doc", "file", "external", "missing", "ambiguous", "unchecked"]
_WEB = frozenset({"http", "https"})


@dataclass(frozen=True)
class Resolved:
    """What one target names."""

    outcome: Outcome
    doc: CanonDoc | None = None
    # The documents an ambiguous stem could mean.
    candidates: tuple[CanonDoc, ...] = ()


def namespace(uri: str) -> str | None:
    """The knowledge base a URI belongs to: its scheme (for web URLs, scheme and host)."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return None
    scheme = scheme.lower()
    return f"{scheme}://{rest.split('/', 1)[0].lower()}" if scheme in _WEB else scheme


def namespaces_of(docs: Iterable[CanonDoc]) -> frozenset[str]:
    """The knowledge bases a canon names its documents in: a URI there must name one of them."""
    found = (namespace(uri) for d in docs if (uri := d.declared_uri))
    return frozenset(n for n in found if n)


def stem_of(name: str) -> str:
    """The last segment of a path or URI, without `.md`."""
    return posixpath.basename(name.rstrip("/")).removesuffix(".md")


@dataclass(frozen=True)
class Source:
    """A canon from another repository, named by the URIs under `prefix`."""

    prefix: str
    links: Links


class Links:
    """The documents a link can name, and the one rule that resolves it."""

    def __init__(
        self,
        docs: Iterable[CanonDoc],
        *,
        files: Iterable[str] | None = None,
        namespaces: Iterable[str] | None = None,
        sources: Sequence[Source] = (),
        opaque: Iterable[str] = (),
    ) -> None:
        # Sorted by path, so the first of two documents that share a key is always the same.
        self.docs = sorted(docs, key=lambda d: d.path)
        self._uris: dict[str, CanonDoc] = {}
        self._paths: dict[str, CanonDoc] = {}
        self._bare: dict[str, CanonDoc] = {}
        self._stems: dict[str, list[CanonDoc]] = {}
        for doc in self.docs:
            uri = doc.declared_uri
            if uri is not None:
                self._uris.setdefault(uri, doc)
                if "://" in uri:
                    self._bare.setdefault(uri.split("://", 1)[1], doc)
            self._paths.setdefault(doc.path, doc)
            self._paths.setdefault(doc.path.removesuffix(".md"), doc)
            for stem in {stem_of(doc.path), stem_of(uri or doc.path)}:
                self._stems.setdefault(stem, []).append(doc)
        self.namespaces = (
            frozenset(namespaces) if namespaces is not None else namespaces_of(self.docs)
        )
        self.sources = sorted(sources, key=lambda s: -len(s.prefix))
        # Prefixes of configured sources that could not be read here: never checked.
        self.opaque = tuple(opaque)
        self._files: frozenset[str] | None = None
        self._folders: frozenset[str] = frozenset()
        self._names: frozenset[str] = frozenset()
        if files is not None:
            listed = frozenset(files)
            self._files = listed
            self._folders = frozenset(parent for f in listed for parent in _parents(f))
            self._names = frozenset(posixpath.basename(f) for f in listed)

    def uri(self, uri: str) -> CanonDoc | None:
        """The document with this URI (a trailing `/` or `.md` tolerated)."""
        for key in (uri, uri.rstrip("/"), uri.removesuffix(".md")):
            if key in self._uris:
                return self._uris[key]
        return None

    def resolve(self, target: str, kind: LinkKind, source: str | None = None) -> Resolved:
        """Resolve a target as written in the document at path `source` (None: the root)."""
        if kind == "uri":
            return self._resolve_uri(target)
        if kind == "stem":
            return self._resolve_stem(target)
        return self._resolve_path(target, source)

    def find(self, ref: str) -> CanonDoc | None:
        """The document a reference names (as a link item, or a URI given verbatim), or None."""
        ref = ref.strip()
        exact = self.uri(ref)
        if exact is not None:
            return exact
        parsed = parse_item(ref)
        if parsed is None:
            return None
        return self.resolve(*parsed).doc

    def candidates(self, ref: str) -> tuple[CanonDoc, ...]:
        """The documents an ambiguous stem could mean (none when `ref` is no such stem)."""
        parsed = parse_item(ref.strip())
        if parsed is None or parsed[1] != "stem":
            return ()
        return self._resolve_stem(parsed[0]).candidates

    def _resolve_uri(self, target: str) -> Resolved:
        doc = self.uri(target)
        if doc is not None:
            return Resolved("doc", doc)
        if target.startswith(self.opaque) and self.opaque:
            return Resolved("unchecked")
        for src in self.sources:
            if target.startswith(src.prefix):
                found = src.links.uri(target)
                return Resolved("doc", found) if found is not None else Resolved("missing")
        if namespace(target) in self.namespaces:
            return Resolved("missing")
        return Resolved("external")

    def _resolve_stem(self, target: str) -> Resolved:
        exact = self.uri(target) or self._paths.get(target)
        if exact is not None:
            return Resolved("doc", exact)
        docs = self._stems.get(target.removesuffix(".md"), [])
        if len(docs) > 1:
            return Resolved("ambiguous", candidates=tuple(docs))
        return Resolved("doc", docs[0]) if docs else Resolved("missing")

    def _resolve_path(self, target: str, source: str | None) -> Resolved:
        bare = target.strip()
        candidates = [posixpath.normpath(bare.lstrip("/"))]
        if not bare.startswith("/") and source is not None:
            here = posixpath.dirname(source)
            candidates.append(posixpath.normpath(posixpath.join(here, bare)))
        inside = [c for c in candidates if c != ".." and not c.startswith("../")]
        for candidate in inside:
            doc = self._paths.get(candidate) or self._paths.get(candidate.removesuffix(".md"))
            if doc is not None:
                return Resolved("doc", doc)
        # A plain-path URI (`uri: docs/adr/ADR-0001`), or a URI given without its scheme.
        doc = self.uri(bare) or self._bare.get(candidates[0])
        if doc is not None:
            return Resolved("doc", doc)
        if self._files is None or not inside:
            return Resolved("unchecked")
        for candidate in inside:
            if candidate in self._files or candidate in self._folders or candidate == ".":
                return Resolved("file")
        # A bare file name (`GLOSSARY.md`) may mean that file wherever it sits.
        if "/" not in bare.strip("/") and posixpath.basename(bare) in self._names:
            return Resolved("file")
        return Resolved("missing")


def _parents(path: str) -> Iterable[str]:
    parts = path.split("/")[:-1]
    return ("/".join(parts[: i + 1]) for i in range(len(parts)))
