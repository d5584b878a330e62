"""The governance key: one hash of everything that governs a verdict at a base commit.

A verdict satisfies a pull request only if it judged the PR's current head and its key equals
the key of the PR's current base tip. The key changes when what governs changes (the config
file, the canon under the configured paths, a canon source's commit, the gate), and only then:
`main` moving on for any other reason keeps verdicts valid.

Both planes compute it from git object ids, so they agree without sharing anything: the data
plane from its checkout (`git rev-parse`), the App from GitHub's contents API. The App never
trusts a key it did not compute itself.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from action.config import CONFIG_PATH

KEY_PREFIX = "gk1-"
DEFAULT_GATE = "canon-gate"
_GLOB = frozenset("*?[")


@dataclass(frozen=True)
class Governs:
    """The parts of a base commit that govern a verdict, as git object ids."""

    # The config file's blob id; None when the base has no config (the defaults govern).
    config: str | None
    # (canon root, its tree or blob id at the base, or None when absent), sorted by root.
    canon: tuple[tuple[str, str | None], ...]
    # (source name, the commit its canon was read at), for canon from other repositories.
    sources: tuple[tuple[str, str], ...] = ()
    gate: str = DEFAULT_GATE


def governance_key(governs: Governs) -> str:
    """Hash what governs into one short, stable key."""
    lines = [f"config {governs.config or '-'}", f"gate {governs.gate}"]
    lines += [f"canon {root or '.'} {oid or '-'}" for root, oid in sorted(governs.canon)]
    lines += [f"source {name} {commit}" for name, commit in sorted(governs.sources)]
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return KEY_PREFIX + digest[:20]


def canon_roots(paths: Sequence[str]) -> tuple[str, ...]:
    """The repository paths whose git objects cover the configured canon paths.

    A glob such as `docs/adr/*.md` is covered by its folder (`docs/adr`); `.`, `./` and an empty
    path mean the whole repository (the root, written ""). Leading `./` and slashes are ignored.
    """
    roots: set[str] = set()
    for entry in paths:
        parts = [p for p in entry.strip().split("/") if p not in ("", ".")]
        fixed: list[str] = []
        for part in parts:
            if _GLOB & set(part):
                break
            fixed.append(part)
        roots.add("/".join(fixed))
    return tuple(sorted(roots))


def governs_from_git(
    repo: Path,
    commit: str,
    canon_paths: Sequence[str],
    *,
    gate: str = DEFAULT_GATE,
    sources: Sequence[tuple[str, str]] = (),
) -> Governs:
    """Read what governs at `commit` from a git repository (a checkout or a bare clone)."""

    def object_id(path: str) -> str | None:
        spec = f"{commit}^{{tree}}" if not path else f"{commit}:{path}"
        done = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", spec],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() or None if done.returncode == 0 else None

    return Governs(
        config=object_id(CONFIG_PATH),
        canon=tuple((root, object_id(root)) for root in canon_roots(canon_paths)),
        sources=tuple(sorted(sources)),
        gate=gate,
    )
