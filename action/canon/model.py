"""The canon model: its documents, the one resolver over them, what is in force, broken chains.

The prompt, the tools, evidence, the chain problems and the structural check all read this one
model. Supersession is a graph built once from every `supersedes` and `superseded_by` link (the
two sides of one fact); what is in force follows it while each step has exactly one successor,
and cycles are its strongly connected components. Nothing here compares every document with
every other: loading and checking grow linearly with the canon.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from action.canon.checkout import Checkout, Reader
from action.canon.document import SUPERSESSION, CanonDoc, Link
from action.canon.links import Links, Resolved, Source
from action.errors import CanonGateError


class CanonProblem(CanonGateError):
    """The canon the config names cannot be used as it is: not evaluated, a person must act."""


@dataclass(frozen=True)
class ChainProblem:
    uri: str
    kind: str  # "dangling" or "cyclic"
    detail: str


@dataclass(frozen=True)
class SourceInfo:
    """Where a canon source was read: its URI prefix, repository, ref, folder and commit."""

    prefix: str
    repo: str
    ref: str
    path: str
    commit: str


@dataclass
class Canon:
    """Documents of one repository (and its sources' canon), resolved by one rule."""

    docs: list[CanonDoc] = field(default_factory=list)
    # The repository's files, for links to files that are not canon (None: only its documents).
    files: frozenset[str] | None = None
    sources: Sequence[tuple[SourceInfo, Canon]] = ()
    # The knowledge bases this canon names its documents in (None: those its documents use).
    namespaces: frozenset[str] | None = None
    # URI prefixes of configured sources that were not read: links into them are not checked.
    opaque: tuple[str, ...] = ()
    links: Links = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.links = Links(
            self.docs,
            files=self.files if self.files is not None else (d.path for d in self.docs),
            namespaces=self.namespaces,
            sources=[Source(info.prefix, canon.links) for info, canon in self.sources],
            opaque=self.opaque,
        )
        self._successors: dict[CanonDoc, list[CanonDoc]] = {}
        for newer, older in self._supersessions():
            if newer not in self._successors.get(older, ()):
                self._successors.setdefault(older, []).append(newer)

    @property
    def all_docs(self) -> list[CanonDoc]:
        """This repository's documents, then each source's."""
        return [*self.docs, *(d for _, canon in self.sources for d in canon.docs)]

    def get(self, ref: str) -> CanonDoc | None:
        """Find a document by URI, path or unique stem, here or in a source."""
        return self.links.find(ref)

    def resolve(self, link: Link, doc: CanonDoc) -> Resolved:
        """Resolve one link of a document by the one rule."""
        return self.links.resolve(link.target, link.kind, doc.path)

    def source_of(self, doc: CanonDoc) -> tuple[SourceInfo, Canon] | None:
        """The source a document was read from; None for this repository's own."""
        return next(((i, c) for i, c in self.sources if doc.origin == i.prefix), None)

    def _supersessions(self) -> Iterator[tuple[CanonDoc, CanonDoc]]:
        """Yield (newer, older) for each supersession a link states, from either side of it."""
        for doc in self.docs:
            for link in doc.links:
                if link.field not in SUPERSESSION:
                    continue
                target = self.resolve(link, doc).doc
                if target is not None:
                    yield (doc, target) if link.field == "supersedes" else (target, doc)

    def successors(self, doc: CanonDoc) -> list[CanonDoc]:
        """Documents that supersede `doc`, named from either side of the link."""
        found = self.source_of(doc)
        if found is not None:
            return found[1].successors(doc)
        return list(self._successors.get(doc, ()))

    def in_force(self, doc: CanonDoc) -> CanonDoc:
        """Follow supersession to the document in force; stop at a cycle or a fork."""
        seen = {doc}
        current = doc
        while len(nxt := self.successors(current)) == 1 and nxt[0] not in seen:
            current = nxt[0]
            seen.add(current)
        return current

    def cycles(self) -> list[list[CanonDoc]]:
        """The supersession cycles: each a strongly connected component that loops."""
        return [c for c in _components(self.docs, self._successors) if _loops(c, self._successors)]

    def chain_problems(self) -> list[ChainProblem]:
        """Report supersession links that name nothing, and supersession cycles."""
        problems: list[ChainProblem] = []
        for doc in self.docs:
            for link in doc.links:
                if link.field in SUPERSESSION and dangles(link, self.resolve(link, doc)):
                    detail = f"{link.field}: {link.target}"
                    problems.append(ChainProblem(doc.uri, "dangling", detail))
        for cycle in self.cycles():
            problems.append(ChainProblem(cycle[0].uri, "cyclic", _cycle_text(cycle, self)))
        return problems


def dangles(link: Link, resolved: Resolved) -> bool:
    """Whether a link clearly means a document or file, and names nothing.

    A URI in this canon's scheme and a repository path do. A bare stem does only where a canon
    document is the only thing it can mean, a supersession link, and only when it reads as a
    name (`D0013-homepage`), not a word: anything else that resolves to nothing is prose.
    """
    if resolved.outcome != "missing":
        return False
    if link.kind != "stem":
        return True
    return link.field in SUPERSESSION and any(c in link.target for c in "-_")


def _components(
    docs: Sequence[CanonDoc], edges: dict[CanonDoc, list[CanonDoc]]
) -> list[list[CanonDoc]]:
    """Tarjan's strongly connected components, iteratively; each in document order."""
    order = {doc: i for i, doc in enumerate(docs)}
    index: dict[CanonDoc, int] = {}
    low: dict[CanonDoc, int] = {}
    stack: list[CanonDoc] = []
    on_stack: set[CanonDoc] = set()
    found: list[list[CanonDoc]] = []
    for root in docs:
        if root in index:
            continue
        work = [(root, iter(edges.get(root, ())))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in order), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member is node:
                        break
                found.append(sorted(component, key=order.__getitem__))
    return sorted(found, key=lambda c: order[c[0]])


def _loops(component: list[CanonDoc], edges: dict[CanonDoc, list[CanonDoc]]) -> bool:
    return len(component) > 1 or component[0] in edges.get(component[0], ())


def _cycle_text(cycle: list[CanonDoc], canon: Canon) -> str:
    """One loop through a cycle, from its first document: `a -> b -> a`."""
    members = set(cycle)
    path = [cycle[0]]
    while True:
        nxt = next(d for d in canon.successors(path[-1]) if d in members)
        if nxt in path:
            return " -> ".join(d.uri for d in [*path[path.index(nxt) :], nxt])
        path.append(nxt)


def load_canon(
    checkout: Reader,
    paths: Sequence[str],
    skip: Sequence[Path] = (),
    *,
    sources: Sequence[tuple[SourceInfo, Canon]] = (),
) -> Canon:
    """Load a checkout's canon: its documents whose frontmatter (if any) can be read."""
    docs = [
        doc
        for rel in checkout.canon(paths)
        if not _under(checkout, rel, skip)
        and (doc := checkout.read(rel)).readable
        and rel not in checkout.undecodable  # read() notes what is not UTF-8
    ]
    return Canon(docs, files=checkout.files(), sources=sources)


def require_documents(canon: Canon, checkout: Reader, paths: Sequence[str]) -> None:
    """Refuse an empty canon: an audit against no canon would pass anything, silently."""
    if canon.docs:
        return
    where = ", ".join(f"`{p}`" for p in paths) or "(none)"
    unreadable = len(checkout.canon(paths))
    if unreadable:
        raise CanonProblem(
            f"no canon document could be read under the canon paths {where}: {unreadable} "
            "markdown file(s) there, none with YAML frontmatter that parses; run "
            "`canon-gate structure` to see why"
        )
    raise CanonProblem(
        f"the canon is empty: no markdown document under the canon paths {where} "
        "(`canon.paths` in `.github/canon-gate.yml`). To start, add one under `canon/` that "
        "opens with YAML frontmatter (`uri`, `title`, `status: active`) and states a rule your "
        "changes must follow, or point `canon.paths` at the folder that holds your governance "
        "documents"
    )


def load_source(checkout: Reader, info: SourceInfo) -> Canon:
    """Load a source's canon: every document under its folder, named by its origin."""
    docs = [
        dataclasses.replace(doc, origin=info.prefix)
        for rel in checkout.canon([info.path])
        if (doc := checkout.read(rel)).readable and rel not in checkout.undecodable
    ]
    return Canon(docs)


def with_changes(
    canon: Canon,
    changed: Iterable[CanonDoc],
    deleted: Iterable[str],
    files: frozenset[str] | None = None,
) -> Canon:
    """The canon with a change applied: documents added, replaced or removed by path.

    `files` are the repository's files after the change (default: the canon's, with the change
    applied). Its knowledge bases stay the base's: a change cannot make another one its own.
    """
    new = {doc.path: doc for doc in changed}
    gone = set(deleted) | set(new)
    docs = [doc for doc in canon.docs if doc.path not in gone] + list(new.values())
    if files is None and canon.files is not None:
        files = (canon.files - set(deleted)) | set(new)
    return Canon(docs, files, canon.sources, canon.links.namespaces, canon.opaque)


def _under(checkout: Reader, rel: str, skip: Sequence[Path]) -> bool:
    """Whether a path lies in one of the folders `skip` names (data checkouts nested inside)."""
    if not skip or not isinstance(checkout, Checkout):
        return False
    path = (checkout.root / rel).resolve()
    return any(path == s.resolve() or s.resolve() in path.parents for s in skip)
