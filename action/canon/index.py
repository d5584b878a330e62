"""Full-text search over the canon: SQLite FTS5 on an in-memory database built per run."""

from __future__ import annotations

import re
import sqlite3

from action.canon.document import CanonDoc
from action.canon.model import Canon


class CanonIndex:
    """SQLite FTS5 full-text index over the canon, ranked by bm25."""

    def __init__(self, canon: Canon) -> None:
        self.canon = canon
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(uri, title, tags, body)")
        self.db.executemany(
            "INSERT INTO docs VALUES (?, ?, ?, ?)",
            [(d.uri, d.title, " ".join(d.tags), d.body) for d in canon.docs],
        )

    def search(self, query: str, limit: int = 8) -> list[tuple[CanonDoc, str]]:
        """Return matching documents with a snippet; the query is taken as plain words."""
        words = re.findall(r"\w+", query)
        if not words:
            return []
        expr = " OR ".join(f'"{w}"' for w in words)
        rows = self.db.execute(
            "SELECT uri, snippet(docs, 3, '[', ']', ' … ', 16) FROM docs WHERE docs MATCH ? "
            "ORDER BY bm25(docs, 0, 4.0, 2.0, 1.0) LIMIT ?",
            (expr, limit),
        ).fetchall()
        hits = [(self.canon.get(uri), snippet) for uri, snippet in rows]
        return [(doc, snippet) for doc, snippet in hits if doc is not None]
