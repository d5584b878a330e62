"""Fetch the findings report from a workflow run's artifact and validate it into the contract."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import aiohttp
from gidgethub.abc import GitHubAPI
from pydantic import ValidationError

from action.report import (
    ACTION_VERSION,
    ARTIFACT_NAME,
    REPORT_FILENAME,
    SUPPORTED_SCHEMA_VERSIONS,
    Report,
)
from app.edge.errors import CanonGateError, TransientError
from app.events import Repository

MAX_ARTIFACT_BYTES = 20 * 1024 * 1024
MAX_REPORT_BYTES = 10 * 1024 * 1024


class ArtifactProblem(CanonGateError):
    """The run produced no usable report; the message is shown to the user."""


class UnsupportedSchema(ArtifactProblem):
    """The report is of a schema version this App does not read: the action must be re-pinned."""

    def __init__(self, version: object) -> None:
        super().__init__(
            f"the report's schema_version {version!r} is not one this App reads "
            f"({sorted(SUPPORTED_SCHEMA_VERSIONS)}); pin the canon-gate action at "
            f"`{ACTION_VERSION}` in .github/workflows/canon-gate.yml"
        )
        self.version = version


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
        raise ArtifactProblem(f"the `{ARTIFACT_NAME}` artifact is over {MAX_ARTIFACT_BYTES} bytes")
    blob = await _download(gh, http, str(artifact["archive_download_url"]))
    return parse_report(_unzip(blob))


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
        return await response.content.read(MAX_ARTIFACT_BYTES + 1)


def _unzip(blob: bytes) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            info = next(
                (i for i in archive.infolist() if i.filename.endswith(REPORT_FILENAME)), None
            )
            if info is None:
                raise ArtifactProblem(f"the artifact holds no `{REPORT_FILENAME}`")
            if info.file_size > MAX_REPORT_BYTES:
                raise ArtifactProblem(f"`{REPORT_FILENAME}` is over {MAX_REPORT_BYTES} bytes")
            return archive.read(info)
    except ArtifactProblem:
        raise
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"[:200]
        raise ArtifactProblem(f"the artifact could not be read as a zip file ({reason})") from None


def parse_report(raw: bytes) -> Report:
    """Validate report bytes into the contract; an unknown schema version names the fix."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ArtifactProblem(f"`{REPORT_FILENAME}` is not JSON: {exc}") from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise UnsupportedSchema(version)
    try:
        return Report.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ArtifactProblem(
            f"`{REPORT_FILENAME}` does not match the findings contract "
            f"({exc.error_count()} errors; first at `{where}`: {first['msg']})"
        ) from None
