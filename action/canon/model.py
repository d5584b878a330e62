"""The audit's canon: the documents it loads, which one is in force, and its broken chains.

The prompt, the tools, evidence and the chain problems all read this one model, loaded once per
checkout from its `Checkout`. It looks documents up by `Links.lookup` and follows supersession
only while each step has exactly one successor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from action.canon.checkout import Checkout
from action.canon.document import CanonDoc
from action.canon.links import Links, supersessions

# Frontmatter the structural check reports as unusable; the audit skips such a document.
_UNREADABLE = frozenset({"yaml-invalid", "frontmatter-not-mapping"})


@dataclass(frozen=True)
class ChainProblem:
    uri: str
    kind: str  # "dangling" or "cyclic"
    detail: str


@dataclass
class Canon:
    docs: list[CanonDoc] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.links = Links(self.docs)
        self._successors: dict[CanonDoc, dict[str, CanonDoc]] = {}
        found = supersessions(self.docs, lambda link, _doc: self.links.lookup(link.target))
        for newer, older in found:
            if newer is not older:
                self._successors.setdefault(older, {})[newer.uri] = newer

    def get(self, ref: str) -> CanonDoc | None:
        """Find a document by the audit's rule (see `Links.lookup`)."""
        return self.links.lookup(ref)

    def successors(self, doc: CanonDoc) -> list[CanonDoc]:
        """Documents that supersede `doc`, named from either side of the link, one per URI."""
        return list(self._successors.get(doc, {}).values())

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
                for ref in doc.targets(name):
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


def load_canon(checkout: Checkout, paths: Sequence[str], skip: Sequence[Path] = ()) -> Canon:
    """Load the audit's canon from a checkout: its selection rule, then its reading rule."""
    docs = []
    for rel in checkout.audit_canon(paths, skip):
        doc = _as_audited(checkout.read(rel))
        if doc is not None and rel not in checkout.undecodable:  # read() notes what is not UTF-8
            docs.append(doc)
    return Canon(docs)


def _as_audited(doc: CanonDoc) -> CanonDoc | None:
    """Read a parsed document as the audit does; None when the audit cannot read it.

    The audit's reading rules, kept beside the structural check's until the rules change: it
    recognises a frontmatter block only when the file opens with `---` (no byte-order mark) and
    at least one line later closes with `---` (never `...`); any other file is read as one without
    frontmatter. Of a link field given twice it keeps the value YAML keeps, the last.
    """
    if doc.bom or doc.closer == "..." or doc.closer_line == 2:
        return doc.without_frontmatter()
    if any(problem.rule in _UNREADABLE for problem in doc.problems):
        return None
    last = [link for link in doc.links if link.line >= doc.lines[link.field]]
    return doc if last == doc.links else dataclasses.replace(doc, links=last)
