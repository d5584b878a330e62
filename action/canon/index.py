"""Full-text search over the canon: SQLite FTS5 on an in-memory database built per run."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable

from action.canon.document import CanonDoc
from action.canon.model import Canon


class CanonIndex:
    """SQLite FTS5 full-text index over the canon and its sources, ranked by bm25."""

    def __init__(self, canon: Canon) -> None:
        self.canon = canon
        self.docs = canon.all_docs
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(uri, title, tags, body)")
        self.db.executemany(
            "INSERT INTO docs (rowid, uri, title, tags, body) VALUES (?, ?, ?, ?, ?)",
            [(i, d.uri, d.title, " ".join(d.tags), d.body) for i, d in enumerate(self.docs)],
        )

    def search(self, query: str, limit: int = 8) -> list[tuple[CanonDoc, str]]:
        """Return matching documents with a snippet; the query is taken as plain words."""
        return self._match(re.findall(r"\w+", query), limit)

    def related(self, words: Iterable[str], limit: int) -> list[CanonDoc]:
        """The documents that best match any of `words` (already chosen by the caller)."""
        return [doc for doc, _ in self._match(list(words), limit)]

    def _match(self, words: list[str], limit: int) -> list[tuple[CanonDoc, str]]:
        if not words:
            return []
        expr = " OR ".join(f'"{w}"' for w in words)
        rows = self.db.execute(
            "SELECT rowid, snippet(docs, 3, '[', ']', ' … ', 16) FROM docs WHERE docs MATCH ? "
            "ORDER BY bm25(docs, 0, 4.0, 2.0, 1.0) LIMIT ?",
            (expr, max(limit, 0)),
        ).fetchall()
        return [(self.docs[rowid], snippet) for rowid, snippet in rows]
