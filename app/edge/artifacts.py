"""Download a workflow run's report artifact; `app.judge.artifact` reads it into the contract."""

from __future__ import annotations

from typing import Any

import aiohttp
from gidgethub.abc import GitHubAPI

from action.report import ARTIFACT_NAME, Report
from app.edge.errors import TransientError
from app.events import Repository
from app.judge.artifact import MAX_ARTIFACT_BYTES, ArtifactProblem, read_artifact

_CHUNK_BYTES = 64 * 1024
_TOO_LARGE = f"the `{ARTIFACT_NAME}` artifact is over {MAX_ARTIFACT_BYTES} bytes"


async def fetch_report(
    gh: GitHubAPI, http: aiohttp.ClientSession, repo: Repository, workflow_run_id: int
) -> Report:
    """Download and validate the run's report, or raise ArtifactProblem saying why not."""
    data: Any = await gh.getitem(
        "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts{?name}",
        url_vars={
            "owner": repo.owner,
            "repo": repo.name,
            "run_id": str(workflow_run_id),
            "name": ARTIFACT_NAME,
        },
    )
    candidates = [a for a in data.get("artifacts", []) if a.get("name") == ARTIFACT_NAME]
    if not candidates:
        raise ArtifactProblem(f"the workflow run uploaded no `{ARTIFACT_NAME}` artifact")
    artifact = max(candidates, key=lambda a: int(a["id"]))
    if artifact.get("expired"):
        raise ArtifactProblem(f"the `{ARTIFACT_NAME}` artifact has expired")
    if int(artifact.get("size_in_bytes") or 0) > MAX_ARTIFACT_BYTES:
        raise ArtifactProblem(_TOO_LARGE)
    blob = await _download(gh, http, str(artifact["archive_download_url"]))
    return read_artifact(blob)


async def _download(gh: GitHubAPI, http: aiohttp.ClientSession, url: str) -> bytes:
    # gidgethub cannot return a binary body. GitHub answers 302 to a short-lived URL on another
    # host, and aiohttp drops Authorization on that cross-origin redirect, as it should.
    headers = {"Authorization": f"token {gh.oauth_token}", "Accept": "application/vnd.github+json"}
    async with http.get(url, headers=headers, allow_redirects=True) as response:
        if response.status == 410:
            raise ArtifactProblem(f"the `{ARTIFACT_NAME}` artifact has expired (410)")
        if response.status >= 500 or response.status == 429:
            raise TransientError(f"artifact download answered {response.status}")
        if response.status != 200:
            raise ArtifactProblem(f"the artifact download answered {response.status}")
        if (response.content_length or 0) > MAX_ARTIFACT_BYTES:
            raise ArtifactProblem(_TOO_LARGE)
        # `content.read(n)` answers with what is buffered, not the whole body: read every chunk.
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
            body += chunk
            if len(body) > MAX_ARTIFACT_BYTES:
                raise ArtifactProblem(_TOO_LARGE)
        return bytes(body)
