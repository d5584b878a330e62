"""Resolve canon links by each caller's rule, and derive the supersession relation they state.

Two resolution rules live here side by side, until a change of the rules makes them one:

- `Links.lookup`, the audit's rule (prompt, tools, evidence, chain problems): a reference names a
  document by its URI, its path, its path without `.md`, or its URI without the scheme. The
  reference is cut at `#` and at its first space; the first document loaded keeps a shared key.
- `Links.resolve`, the structural check's rule: a target names a document by its declared URI, by
  repository path (with or without `.md`), or by a path relative to the linking document. The
  target is cut at `#` and at ` §`; the last document keeps a shared URI.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Iterator

from action.canon.document import CanonDoc, Link


class Links:
    """The documents one caller can link to, with both resolution rules over them."""

    def __init__(self, docs: Iterable[CanonDoc]) -> None:
        self.docs = list(docs)
        self._keys: dict[str, CanonDoc] = {}
        for doc in self.docs:
            for key in (doc.uri, doc.path, doc.path.removesuffix(".md"), _strip_scheme(doc.uri)):
                self._keys.setdefault(key, doc)
        self._paths = {doc.path: doc for doc in self.docs}
        self._uris = {uri: doc for doc in self.docs if (uri := doc.declared_uri)}

    def lookup(self, ref: str) -> CanonDoc | None:
        """Find a document by URI, path, path without `.md`, or URI without its scheme."""
        ref = ref.strip().split("#")[0].split(" ")[0]
        for key in (ref, ref.removesuffix(".md"), _strip_scheme(ref)):
            if key in self._keys:
                return self._keys[key]
        return None

    def resolve(self, target: str, source: str) -> CanonDoc | None:
        """Resolve a target by URI, by repository path, or by a path relative to `source`."""
        bare = target.split("#", 1)[0].split(" §", 1)[0].strip()
        if bare in self._uris:
            return self._uris[bare]
        candidates = [bare.lstrip("/")]
        if "://" not in bare:
            candidates.append(posixpath.normpath(posixpath.join(posixpath.dirname(source), bare)))
        for candidate in candidates:
            for path in (candidate, candidate + ".md"):
                if path in self._paths:
                    return self._paths[path]
        return None


def supersessions(
    docs: Iterable[CanonDoc], resolve: Callable[[Link, CanonDoc], CanonDoc | None]
) -> Iterator[tuple[CanonDoc, CanonDoc]]:
    """Yield (newer, older) for each supersession a link states, from either side of it.

    `A supersedes: B` and `B superseded_by: A` state the same fact; `resolve` finds a link's
    target from the document that holds it, by the caller's rule.
    """
    for doc in docs:
        for link in doc.links:
            if link.field not in ("supersedes", "superseded_by"):
                continue
            target = resolve(link, doc)
            if target is not None:
                yield (doc, target) if link.field == "supersedes" else (target, doc)


def _strip_scheme(ref: str) -> str:
    return ref.split("://", 1)[1] if "://" in ref else ref
