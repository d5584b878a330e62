"""Download a workflow run's report artifact; `app.judge.artifact` reads it into the contract."""

from __future__ import annotations

from typing import Any

import aiohttp
from gidgethub.abc import GitHubAPI

from action.report import DEFAULT_GATE, Report, artifact_name
from app.edge.errors import TransientError
from app.events import Repository
from app.judge.artifact import MAX_ARTIFACT_BYTES, ArtifactProblem, read_artifact

_CHUNK_BYTES = 64 * 1024

# An artifact as GitHub lists it (https://docs.github.com/en/rest/actions/artifacts).
Listed = dict[str, Any]


async def list_artifacts(
    gh: GitHubAPI, repo: Repository, workflow_run_id: int
) -> dict[str, Listed]:
    """The run's artifacts by name, the newest of each name (one call: a run holds a handful)."""
    data: Any = await gh.getitem(
        "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts{?per_page}",
        url_vars={
            "owner": repo.owner,
            "repo": repo.name,
            "run_id": str(workflow_run_id),
            "per_page": "100",
        },
    )
    newest: dict[str, Listed] = {}
    for artifact in data.get("artifacts", []):
        name = str(artifact.get("name"))
        if name not in newest or int(artifact["id"]) > int(newest[name]["id"]):
            newest[name] = artifact
    return newest


async def fetch_report(
    gh: GitHubAPI,
    http: aiohttp.ClientSession,
    listed: dict[str, Listed],
    gate: str = DEFAULT_GATE,
) -> Report:
    """Download and validate one gate's report, or raise ArtifactProblem saying why not."""
    name = artifact_name(gate)
    artifact = listed.get(name)
    if artifact is None:
        raise ArtifactProblem(f"the workflow run uploaded no `{name}` artifact")
    if artifact.get("expired"):
        raise ArtifactProblem(f"the `{name}` artifact has expired")
    if int(artifact.get("size_in_bytes") or 0) > MAX_ARTIFACT_BYTES:
        raise ArtifactProblem(_too_large(name))
    blob = await _download(gh, http, str(artifact["archive_download_url"]), name)
    return read_artifact(blob)


def _too_large(name: str) -> str:
    return f"the `{name}` artifact is over {MAX_ARTIFACT_BYTES} bytes"


async def _download(gh: GitHubAPI, http: aiohttp.ClientSession, url: str, name: str) -> bytes:
    # gidgethub cannot return a binary body. GitHub answers 302 to a short-lived URL on another
    # host, and aiohttp drops Authorization on that cross-origin redirect, as it should.
    headers = {"Authorization": f"token {gh.oauth_token}", "Accept": "application/vnd.github+json"}
    async with http.get(url, headers=headers, allow_redirects=True) as response:
        if response.status == 410:
            raise ArtifactProblem(f"the `{name}` artifact has expired (410)")
        if response.status >= 500 or response.status == 429:
            raise TransientError(f"artifact download answered {response.status}")
        if response.status != 200:
            raise ArtifactProblem(f"the artifact download answered {response.status}")
        if (response.content_length or 0) > MAX_ARTIFACT_BYTES:
            raise ArtifactProblem(_too_large(name))
        # `content.read(n)` answers with what is buffered, not the whole body: read every chunk.
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
            body += chunk
            if len(body) > MAX_ARTIFACT_BYTES:
                raise ArtifactProblem(_too_large(name))
        return bytes(body)
