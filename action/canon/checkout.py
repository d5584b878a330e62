"""A repository's files and canon, listed once and parsed at most once, by one selection rule.

Canon is every regular `*.md` file under the configured canon paths: a folder (`canon`, `./canon`
and `/canon/` are one folder; `.` is the whole repository), a file, or a glob pattern
(`docs/adr/*.md`). A symbolic link is never canon and never read through. Two readers give the
same answers: `Checkout`, a folder on disk (walked once, or given the list of files git would
commit), and `CommitTree`, a commit read from git's objects without writing a file.
"""

from __future__ import annotations

import os
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, Protocol

from action.canon.document import CanonDoc, parse_document

# Where the Action nests the PR head, the merge-base and canon sources inside the base workspace.
DATA_DIR = ".canon-gate"
_GLOB = frozenset("*?[")


def canon_entries(paths: Sequence[str]) -> list[str]:
    """Normalise configured canon paths: no `./`, no leading or trailing `/`; "" is the root."""
    entries = []
    for entry in paths:
        parts = [p for p in entry.strip().split("/") if p not in ("", ".")]
        entries.append("/".join(parts))
    return entries


def is_canon_path(path: str, config: Any) -> bool:
    """Tell whether a repository path is a canon document under the configured canon paths.

    `config` is a `Config`, or the list of canon paths itself.
    """
    paths = config if isinstance(config, (list, tuple)) else config.canon.paths
    return path.endswith(".md") and _selected(path, canon_entries(paths))


def _selected(path: str, entries: Sequence[str]) -> bool:
    for entry in entries:
        if _GLOB & set(entry):
            if fnmatch(path, entry):
                return True
        elif not entry or path == entry or path.startswith(entry + "/"):
            return True
    return False


class Reader(Protocol):
    """What the canon model reads a tree through."""

    undecodable: set[str]

    def files(self) -> frozenset[str]: ...

    def canon(self, paths: Sequence[str]) -> list[str]: ...

    def read(self, rel: str) -> CanonDoc: ...


class _Parsed(ABC):
    """Parse each file once, on first use; remember which were not UTF-8.

    A tree says how its files are listed and read: a working checkout, or a commit's tree.
    """

    def __init__(self) -> None:
        # Files that are not valid UTF-8: parsed with replacement characters, never audit canon.
        self.undecodable: set[str] = set()
        self._docs: dict[str, CanonDoc] = {}

    @abstractmethod
    def _bytes(self, rel: str) -> bytes:
        """The file's content."""

    @abstractmethod
    def _links(self) -> frozenset[str]:
        """The paths never read as canon: symbolic links, and whatever is not a regular file."""

    @abstractmethod
    def files(self) -> frozenset[str]:
        """Every file's repository path."""

    def read(self, rel: str) -> CanonDoc:
        """Return the parsed document at a repository path, reading it on first use."""
        if rel not in self._docs:
            data = self._bytes(rel)
            try:
                text = _decode(data, "strict")
            except UnicodeDecodeError:
                self.undecodable.add(rel)
                text = _decode(data, "replace")
            self._docs[rel] = parse_document(rel, text)
        return self._docs[rel]

    def canon(self, paths: Sequence[str]) -> list[str]:
        """The canon documents under `paths`, sorted: regular `*.md` files, never links."""
        entries = canon_entries(paths)
        links = self._links()
        found = (f for f in self.files() if f.endswith(".md") and f not in links)
        return sorted(f for f in found if _selected(f, entries))


class Checkout(_Parsed):
    """A folder on disk: its files walked once (never through a link), or the ones listed."""

    def __init__(
        self, root: Path, skip: Sequence[Path] = (), listed: Iterable[str] | None = None
    ) -> None:
        super().__init__()
        self.root = root
        self._skip = frozenset(Path(os.path.abspath(s)) for s in skip)
        self._listed = None if listed is None else frozenset(listed)
        self._files: frozenset[str] | None = None
        self._symlinks: frozenset[str] = frozenset()

    def files(self) -> frozenset[str]:
        """Every file and symbolic link, by repository path; `.git` and `skip` left out."""
        if self._files is None:
            if self._listed is not None:
                self._files = self._listed
                return self._files
            found, links = [], []
            top = os.path.abspath(self.root)
            skip = {str(s) for s in self._skip}
            folders = [(top, "")]
            while folders:
                folder, prefix = folders.pop()
                try:
                    scan = os.scandir(folder)
                except OSError:
                    continue
                with scan:
                    for entry in scan:
                        if entry.name == ".git" or entry.path in skip:
                            continue
                        rel = prefix + entry.name
                        if entry.is_symlink():
                            links.append(rel)
                        elif entry.is_file(follow_symlinks=False):
                            found.append(rel)
                        elif entry.is_dir(follow_symlinks=False):
                            folders.append((entry.path, rel + "/"))
            self._symlinks = frozenset(links)
            self._files = frozenset(found) | self._symlinks
        return self._files

    def _links(self) -> frozenset[str]:
        files = self.files()
        if self._listed is None:
            return self._symlinks
        # Listed files are not walked: ask only about the ones that could be canon.
        return frozenset(
            f
            for f in files
            if f.endswith(".md") and ((self.root / f).is_symlink() or not (self.root / f).is_file())
        )

    def is_link(self, rel: str) -> bool:
        return (self.root / rel).is_symlink()

    def _bytes(self, rel: str) -> bytes:
        with open(os.path.join(self.root, rel), "rb") as fh:
            return fh.read()


class CommitTree(_Parsed):
    """A commit of a git repository, read from its objects: nothing is written to disk."""

    def __init__(self, repo: Path, commit: str) -> None:
        super().__init__()
        self.repo, self.commit = repo, commit
        self._objects: dict[str, str] | None = None
        self._symlinks: frozenset[str] = frozenset()
        self._blobs: dict[str, bytes] = {}

    def _git(self, *args: str, stdin: bytes | None = None) -> bytes:
        return subprocess.run(
            ["git", "-C", str(self.repo), *args], input=stdin, capture_output=True, check=True
        ).stdout

    def files(self) -> frozenset[str]:
        if self._objects is None:
            listing = self._git("ls-tree", "-r", "-z", "--full-tree", self.commit)
            objects, links = {}, []
            for row in listing.split(b"\0"):
                if not row:
                    continue
                meta, _, name = row.partition(b"\t")
                mode, kind, oid = meta.split()
                path = name.decode("utf-8", "surrogateescape")
                if kind != b"blob":
                    continue  # a submodule
                objects[path] = oid.decode()
                if mode == b"120000":
                    links.append(path)
            self._objects, self._symlinks = objects, frozenset(links)
        return frozenset(self._objects)

    def _links(self) -> frozenset[str]:
        self.files()
        return self._symlinks

    def text(self, rel: str) -> str | None:
        """A file's text at the commit, or None when it has no such file."""
        if rel not in self.files():
            return None
        return self._bytes(rel).decode("utf-8", "replace")

    def preload(self, rels: Sequence[str]) -> None:
        """Read many blobs in one `git cat-file --batch` (one process, not one per file)."""
        objects = self._objects or {}
        wanted = [r for r in rels if r not in self._blobs and r in objects]
        if not wanted:
            return
        out = self._git(
            "cat-file", "--batch", stdin="".join(f"{objects[r]}\n" for r in wanted).encode()
        )
        at = 0
        for rel in wanted:
            header_end = out.index(b"\n", at)
            size = int(out[at:header_end].split()[2])
            self._blobs[rel] = out[header_end + 1 : header_end + 1 + size]
            at = header_end + 1 + size + 1

    def canon(self, paths: Sequence[str]) -> list[str]:
        found = super().canon(paths)
        self.preload(found)
        return found

    def _bytes(self, rel: str) -> bytes:
        if rel not in self._blobs:
            self.files()
            self.preload([rel])
        return self._blobs[rel]


def _decode(data: bytes, errors: str) -> str:
    # As `Path.read_text` decodes: UTF-8, with universal newlines.
    return data.decode("utf-8", errors).replace("\r\n", "\n").replace("\r", "\n")
