"""A small content-addressed object store with git's blob, tree and commit semantics."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

Entry = tuple[str, str, str]  # (mode, type, sha)


@dataclass
class Commit:
    sha: str
    tree: str
    parents: list[str]
    message: str
    author: dict[str, str]


@dataclass
class ObjectStore:
    """Blobs, trees (name -> entry) and commits of one repository, keyed by sha1."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, dict[str, Entry]] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)

    def put_blob(self, data: bytes) -> str:
        # The same sha git would compute, so fixtures can be cross-checked with `git hash-object`.
        sha = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
        self.blobs[sha] = data
        return sha

    def put_tree(self, entries: dict[str, Entry]) -> str:
        # Git's own tree encoding, so a tree's sha equals the one a real checkout of the same
        # files gives (`git rev-parse HEAD:canon`): the governance key depends on it.
        def order(item: tuple[str, Entry]) -> str:
            name, (_, kind, _) = item
            return name + "/" if kind == "tree" else name

        raw = b"".join(
            f"{mode.lstrip('0')} {name}".encode() + b"\0" + bytes.fromhex(sha)
            for name, (mode, _, sha) in sorted(entries.items(), key=order)
        )
        sha = hashlib.sha1(b"tree %d\0" % len(raw) + raw, usedforsecurity=False).hexdigest()
        self.trees[sha] = dict(entries)
        return sha

    def put_commit(
        self, tree: str, parents: list[str], message: str, author: dict[str, str]
    ) -> str:
        raw = json.dumps([tree, parents, message, author], sort_keys=True).encode()
        sha = hashlib.sha1(b"commit " + raw, usedforsecurity=False).hexdigest()
        self.commits[sha] = Commit(sha, tree, list(parents), message, dict(author))
        return sha

    def kind(self, sha: str) -> str | None:
        if sha in self.blobs:
            return "blob"
        if sha in self.trees:
            return "tree"
        if sha in self.commits:
            return "commit"
        return None

    # -- flat views ------------------------------------------------------------------------------

    def flatten(self, tree_sha: str, prefix: str = "") -> dict[str, tuple[str, str]]:
        """Return every blob under a tree as path -> (mode, blob sha)."""
        out: dict[str, tuple[str, str]] = {}
        for name, (mode, kind, sha) in self.trees[tree_sha].items():
            path = f"{prefix}{name}"
            if kind == "tree":
                out.update(self.flatten(sha, path + "/"))
            else:
                out[path] = (mode, sha)
        return out

    def build(self, files: dict[str, tuple[str, str]]) -> str:
        """Build nested trees from path -> (mode, blob sha) and return the root tree's sha."""
        direct: dict[str, Entry] = {}
        nested: dict[str, dict[str, tuple[str, str]]] = {}
        for path, (mode, sha) in files.items():
            head, sep, rest = path.partition("/")
            if sep:
                nested.setdefault(head, {})[rest] = (mode, sha)
            else:
                direct[head] = (mode, "blob", sha)
        for name, sub in nested.items():
            direct[name] = ("040000", "tree", self.build(sub))
        return self.put_tree(direct)

    def subtree(self, tree_sha: str, path: str) -> str:
        """The sha of the tree at `path` below a tree."""
        for name in path.split("/"):
            tree_sha = self.trees[tree_sha][name][2]
        return tree_sha

    def files_at(self, commit_sha: str) -> dict[str, bytes]:
        """Return the content of every file in a commit."""
        tree = self.commits[commit_sha].tree
        return {path: self.blobs[sha] for path, (_, sha) in self.flatten(tree).items()}

    def read(self, commit_sha: str, path: str) -> bytes | None:
        entry = self.flatten(self.commits[commit_sha].tree).get(path)
        return None if entry is None else self.blobs[entry[1]]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        todo, seen = [descendant], set()
        while todo:
            sha = todo.pop()
            if sha == ancestor:
                return True
            if sha in seen or sha not in self.commits:
                continue
            seen.add(sha)
            todo.extend(self.commits[sha].parents)
        return False

    def ancestors(self, sha: str) -> list[str]:
        """The commit and its ancestors, nearest first (breadth first)."""
        order, seen, queue = [], set(), [sha]
        while queue:
            current = queue.pop(0)
            if current in seen or current not in self.commits:
                continue
            seen.add(current)
            order.append(current)
            queue.extend(self.commits[current].parents)
        return order

    def merge_base(self, a: str, b: str) -> str | None:
        """The nearest common ancestor of two commits, as git merge-base finds it."""
        of_b = set(self.ancestors(b))
        return next((sha for sha in self.ancestors(a) if sha in of_b), None)

    def tree_json(self, tree_sha: str, url: str, *, recursive: bool) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []

        def walk(sha: str, prefix: str) -> None:
            for name, (mode, kind, child) in sorted(self.trees[sha].items()):
                item: dict[str, Any] = {"path": prefix + name, "mode": mode, "type": kind}
                item["sha"] = child
                if kind == "blob":
                    item["size"] = len(self.blobs[child])
                item["url"] = f"{url}/git/{kind}s/{child}"
                items.append(item)
                if kind == "tree" and recursive:
                    walk(child, prefix + name + "/")

        walk(tree_sha, "")
        return items

    def flatten_commit(self, commit_sha: str) -> dict[str, tuple[str, str]]:
        return self.flatten(self.commits[commit_sha].tree)
