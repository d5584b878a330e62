"""Read what governs at a base commit from GitHub: the config, and the canon's git object ids.

The governance key (`action.governance`) is computed here by the App itself, from GitHub, never
taken from a report, canon sources included: the commit each one's `ref` names now. A commit's
content never changes, so what it holds is cached per commit; the cache is only an optimisation
and is rebuilt from GitHub after a restart.
"""

from __future__ import annotations

import base64
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from action.config import CONFIG_PATH, AppConfig, ConfigError, parse_config
from action.governance import DEFAULT_GATE, Governs, canon_roots, governance_key
from app.events import Repository


@dataclass(frozen=True)
class AtBase:
    """The App's view of the config at a base commit, and the key of what governs there."""

    config: AppConfig
    # Why the config could not be read, when it is broken (the defaults then apply).
    problem: str | None
    governs: Governs
    # Canon sources whose `ref` the App could not resolve to a commit, each saying so: the key
    # then matches no report (fail closed) until `ref` is pinned to a commit SHA.
    unresolved: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return governance_key(self.governs)

    def key_for(self, gate: str) -> str:
        """The key of one gate's verdicts: the same config and canon, that gate's name."""
        return governance_key(replace(self.governs, gate=gate))


class GovernsCache:
    """(repository, commit, gate) -> AtBase, for the life of the process; bounded."""

    def __init__(self, size: int = 2_000) -> None:
        self._items: OrderedDict[tuple[int, str, str], AtBase] = OrderedDict()
        self._size = size

    def get(self, key: tuple[int, str, str]) -> AtBase | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: tuple[int, str, str], value: AtBase) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


async def read_at_base(
    gh: GitHubAPI,
    repo: Repository,
    commit: str,
    *,
    gate: str = DEFAULT_GATE,
    cache: GovernsCache | None = None,
) -> AtBase:
    """Read the config at `commit`, the object ids of its config and canon roots, and the
    commit each canon source's `ref` names now.

    Calls: the config (contents API), the commit, one tree per folder level walked, and one
    commit per canon source whose `ref` is not a commit SHA. A commit's own content never
    changes, so that part is cached; a moving `ref` is resolved again on every call.
    """
    cached = cache.get((repo.id, commit, gate)) if cache is not None else None
    if cached is not None:
        return await _with_sources(gh, cached)
    config, problem, config_sha = await _read_config(gh, repo, commit)
    data: Any = await gh.getitem(
        "/repos/{owner}/{repo}/git/commits/{sha}",
        url_vars={"owner": repo.owner, "repo": repo.name, "sha": commit},
    )
    walker = _TreeWalker(gh, repo, str(data["tree"]["sha"]))
    canon = tuple(
        [(root, await walker.object_id(root)) for root in canon_roots(config.canon.paths)]
    )
    found = AtBase(config, problem, Governs(config=config_sha, canon=canon, gate=gate))
    if cache is not None:
        cache.put((repo.id, commit, gate), found)
    return await _with_sources(gh, found)


async def _with_sources(gh: GitHubAPI, at: AtBase) -> AtBase:
    """Add the commit of each canon source, as the runner records the one it fetched.

    A `ref` that is a full commit SHA is that commit. Any other is resolved through GitHub now;
    one the App cannot resolve (a private repository its token cannot read, a ref that does not
    exist) gets a value no runner records, so no report's key can match it.
    """
    read_at, unresolved = [], []
    for source in at.config.canon.sources:
        if source.pinned:
            read_at.append((source.prefix, source.ref))
            continue
        owner, name = source.repo.split("/")
        try:
            data: Any = await gh.getitem(
                "/repos/{owner}/{repo}/commits/{ref}",
                url_vars={"owner": owner, "repo": name, "ref": source.ref},
            )
        except BadRequest as exc:
            read_at.append((source.prefix, f"unresolved {source.ref}"))
            unresolved.append(
                f"the canon source `{source.prefix}` ({source.repo}) names `ref: {source.ref}`, "
                f"which the App could not resolve to a commit (HTTP {int(exc.status_code)}); "
                "pin `ref` to a full commit SHA in `canon.sources`"
            )
            continue
        read_at.append((source.prefix, str(data["sha"])))
    if not read_at:
        return at
    governs = replace(at.governs, sources=tuple(sorted(read_at)))
    return replace(at, governs=governs, unresolved=tuple(unresolved))


async def _read_config(
    gh: GitHubAPI, repo: Repository, ref: str
) -> tuple[AppConfig, str | None, str | None]:
    """The App's view of the config at `ref`, why it is broken if it is, and its blob id."""
    try:
        data: Any = await gh.getitem(
            "/repos/{owner}/{repo}/contents/{+path}{?ref}",
            url_vars={"owner": repo.owner, "repo": repo.name, "path": CONFIG_PATH, "ref": ref},
        )
    except BadRequest as exc:
        if int(exc.status_code) == 404:
            return AppConfig(), None, None
        raise
    text = base64.b64decode(str(data.get("content", ""))).decode("utf-8", errors="replace")
    try:
        return parse_config(text, view=AppConfig), None, str(data["sha"])
    except ConfigError as exc:
        return AppConfig(), str(exc), str(data["sha"])


class _TreeWalker:
    """Walk a commit's trees one level at a time (`GET git/trees/{sha}`), reading each once."""

    def __init__(self, gh: GitHubAPI, repo: Repository, root: str) -> None:
        self.gh, self.repo, self.root = gh, repo, root
        self._trees: dict[str, dict[str, tuple[str, str]]] = {}

    async def _entries(self, tree: str) -> dict[str, tuple[str, str]]:
        if tree not in self._trees:
            data: Any = await self.gh.getitem(
                "/repos/{owner}/{repo}/git/trees/{sha}",
                url_vars={"owner": self.repo.owner, "repo": self.repo.name, "sha": tree},
            )
            self._trees[tree] = {
                str(e["path"]): (str(e["type"]), str(e["sha"])) for e in data["tree"]
            }
        return self._trees[tree]

    async def object_id(self, path: str) -> str | None:
        """The tree or blob id at `path` ("" is the root), or None when it does not exist."""
        current, kind = self.root, "tree"
        for name in [p for p in path.split("/") if p]:
            if kind != "tree":
                return None  # a path that goes through a file
            entries = await self._entries(current)
            if name not in entries:
                return None
            kind, current = entries[name]
        return current
