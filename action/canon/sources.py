"""Canon from other repositories (`canon.sources`): fetched read-only, recorded by commit.

The Action fetches every configured source in a step of its own, before the audit (`python -P -m
action.canon.sources`): each into a bare repository under the workspace's `.canon-gate/sources`,
one shallow `git fetch` of its `ref`, and what it got goes to `.canon-gate/sources.json`: the
commit, or why the source could not be fetched. Public repositories need no token; a private one
needs `CANON_GATE_SOURCES_TOKEN`, which only that step holds. The audit then reads each source's
canon from git's objects (nothing is checked out), and a source it cannot read makes the audit
not evaluated, saying why: never a silent pass.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from action.canon.checkout import DATA_DIR, CommitTree
from action.canon.model import Canon, CanonProblem, SourceInfo, load_source
from action.config import CanonSource, ConfigError, load_config

log = logging.getLogger(__name__)
MANIFEST = f"{DATA_DIR}/sources.json"
FOLDER = f"{DATA_DIR}/sources"
# The name of the secret (and environment variable) holding a token for private sources.
TOKEN_SECRET = "CANON_GATE_SOURCES_TOKEN"  # noqa: S105 (a name, not a secret)
FETCH_TIMEOUT_SECONDS = 120


class Fetched(BaseModel):
    """One source as the fetch step left it: its commit and bare repository, or an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str
    repo: str
    ref: str
    path: str
    commit: str | None = None
    error: str | None = None
    # The bare repository, relative to the workspace.
    git: str = ""

    def matches(self, source: CanonSource) -> bool:
        return (self.prefix, self.repo, self.ref, self.path) == (
            source.prefix,
            source.repo,
            source.ref,
            source.path,
        )


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[Fetched]


def git_env(home: Path, server: str, token: str | None) -> dict[str, str]:
    """Git's environment for a fetch: no prompt, no system or user config, the token if any."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        # Fail instead of asking for a password that no one will type.
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    if token:
        # As actions/checkout does: the header reaches git through its environment, never argv.
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0=f"http.{server.rstrip('/')}/.extraheader",
            GIT_CONFIG_VALUE_0=f"AUTHORIZATION: basic {basic}",
        )
    return env


def fetch(
    source: CanonSource, workspace: Path, index: int, server: str, token: str | None
) -> Fetched:
    """Fetch one source's `ref` (shallow) into a bare repository; never raises."""
    git_dir = f"{FOLDER}/{index}.git"
    found = Fetched(
        prefix=source.prefix, repo=source.repo, ref=source.ref, path=source.path, git=git_dir
    )
    dest = workspace / git_dir
    env = git_env(dest, server, token)
    url = f"{server.rstrip('/')}/{source.repo}.git"
    try:
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        for argv in (
            ["git", "init", "-q", "--bare", str(dest)],
            ["git", "-C", str(dest), "fetch", "-q", "--depth=1", "--no-tags", url, source.ref],
        ):
            subprocess.run(
                argv, env=env, capture_output=True, check=True, timeout=FETCH_TIMEOUT_SECONDS
            )
        done = subprocess.run(
            ["git", "-C", str(dest), "rev-parse", "--verify", "-q", "FETCH_HEAD^{commit}"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    except subprocess.CalledProcessError as exc:
        said = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        last = said[-1][:300] if said else f"git exited {exc.returncode}"
        return found.model_copy(update={"error": f"git could not fetch `{source.ref}`: {last}"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return found.model_copy(update={"error": f"the fetch failed: {type(exc).__name__}"})
    return found.model_copy(update={"commit": done.stdout.strip()})


def fetch_all(
    workspace: Path, sources: Sequence[CanonSource], server: str, token: str | None
) -> list[Fetched]:
    """Fetch every source and write the manifest the audit reads (an old one never survives)."""
    (workspace / MANIFEST).unlink(missing_ok=True)
    shutil.rmtree(workspace / FOLDER, ignore_errors=True)
    fetched = [fetch(s, workspace, i, server, token) for i, s in enumerate(sources)]
    if fetched:
        (workspace / MANIFEST).parent.mkdir(parents=True, exist_ok=True)
        (workspace / MANIFEST).write_text(Manifest(sources=fetched).model_dump_json(indent=2))
    return fetched


def fetched_for(workspace: Path, sources: Sequence[CanonSource]) -> list[Fetched]:
    """What the fetch step left for each configured source, in the config's order.

    A source the manifest does not name (or names with other settings) was not fetched.
    """
    if not sources:
        return []
    listed: list[Fetched] = []
    path = workspace / MANIFEST
    try:
        listed = Manifest.model_validate_json(path.read_text()).sources
    except (OSError, ValueError, ValidationError):
        listed = []
    found = []
    for source in sources:
        match = next((f for f in listed if f.matches(source)), None)
        found.append(
            match
            or Fetched(
                prefix=source.prefix,
                repo=source.repo,
                ref=source.ref,
                path=source.path,
                error="it was not fetched (the workflow's canon sources step did not run)",
            )
        )
    return found


def unusable(fetched: Sequence[Fetched]) -> str | None:
    """Say why the audit cannot use its sources, naming the first one that failed."""
    for f in fetched:
        if f.commit is None:
            return (
                f"the canon source `{f.prefix}` ({f.repo} at `{f.ref}`) could not be read: "
                f"{f.error or 'no commit'}. A public repository needs no token; a private one "
                f"needs the `{TOKEN_SECRET}` secret, a token that can read it"
            )
    return None


def load_sources(workspace: Path, fetched: Sequence[Fetched]) -> list[tuple[SourceInfo, Canon]]:
    """Read each fetched source's canon from its bare repository, at the recorded commit."""
    loaded = []
    for f in fetched:
        if f.commit is None:
            raise CanonProblem(unusable([f]) or "")
        info = SourceInfo(f.prefix, f.repo, f.ref, f.path, f.commit)
        try:
            canon = load_source(CommitTree(workspace / f.git, f.commit), info)
        except (OSError, subprocess.CalledProcessError):
            raise CanonProblem(
                f"the canon source `{f.prefix}` ({f.repo} at {f.commit[:12]}) could not be read "
                "from its fetched repository"
            ) from None
        if not canon.docs:
            raise CanonProblem(
                f"the canon source `{f.prefix}` ({f.repo} at {f.commit[:12]}) holds no canon "
                f"document under `{f.path or '.'}`: check its `path`"
            )
        loaded.append((info, canon))
    return loaded


def main(env: Mapping[str, str] | None = None) -> int:
    """The Action's step: fetch the sources the base's config names. Exit 1 only on a crash."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    env = dict(os.environ if env is None else env)
    workspace = Path(env.get("GITHUB_WORKSPACE") or os.getcwd())
    try:
        config = load_config(workspace)
    except ConfigError:
        # The audit reads the same config and reports it; there is nothing to fetch.
        (workspace / MANIFEST).unlink(missing_ok=True)
        return 0
    server = env.get("GITHUB_SERVER_URL") or "https://github.com"
    try:
        fetched = fetch_all(workspace, config.canon.sources, server, env.get(TOKEN_SECRET))
    except OSError:
        log.exception("sources.write_failed")
        return 1
    for f in fetched:
        outcome = f"commit {f.commit}" if f.commit else f"not fetched: {f.error}"
        sys.stdout.write(f"canon-gate: canon source {f.prefix} ({f.repo} at {f.ref}): {outcome}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
