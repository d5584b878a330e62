"""Read a report artifact's bytes into the findings contract: the one schema check.

Pure: the zip and JSON are parsed in memory. Every way the bytes can fail to be a report raises
`ArtifactProblem`, whose message is shown to the user; an unknown schema version names the fix.
"""

from __future__ import annotations

import io
import json
import zipfile

from pydantic import ValidationError

from action.errors import CanonGateError
from action.report import (
    ACTION_VERSION,
    REPORT_FILENAME,
    SUPPORTED_SCHEMA_VERSIONS,
    Report,
)

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
            f"`{ACTION_VERSION}` in the audit workflow"
        )
        self.version = version


def read_artifact(blob: bytes) -> Report:
    """Unzip the `canon-gate-report` artifact and validate the report it holds."""
    return parse_report(_unzip(blob))


def _unzip(blob: bytes) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            entries = archive.infolist()
            # upload-artifact stores `path: report.json` as one root entry; anything else (a
            # second file, a folder, a look-alike name) was not written by the audit step.
            names = [info.filename for info in entries]
            if names != [REPORT_FILENAME]:
                raise ArtifactProblem(
                    f"the artifact must hold exactly `{REPORT_FILENAME}` at its root and "
                    f"nothing else; it holds {_describe(names)}"
                )
            [info] = entries
            if info.file_size > MAX_REPORT_BYTES:
                raise ArtifactProblem(f"`{REPORT_FILENAME}` is over {MAX_REPORT_BYTES} bytes")
            return archive.read(info)
    except ArtifactProblem:
        raise
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"[:200]
        raise ArtifactProblem(f"the artifact could not be read as a zip file ({reason})") from None


def _describe(names: list[str], shown: int = 3) -> str:
    """Name a zip's entries briefly: they come from the run, so each is quoted and cut."""
    if not names:
        return "no file"
    quoted = ", ".join(repr(name[:80]) for name in names[:shown])
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"{len(names)} entries: {quoted}{more}" if len(names) > 1 else quoted


def parse_report(raw: bytes) -> Report:
    """Validate report bytes into the contract; an unknown schema version names the fix."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ArtifactProblem(f"`{REPORT_FILENAME}` is not JSON: {exc}") from None
    if isinstance(data, dict) and "schema_version" not in data:
        raise UnsupportedSchema(None)  # a report always names its version on the wire
    try:
        return Report.model_validate(data)
    except ValidationError as exc:
        if any(err["loc"] == ("schema_version",) for err in exc.errors()):
            # The contract itself refuses versions it does not know: say which action to pin.
            raise UnsupportedSchema(data.get("schema_version")) from None
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ArtifactProblem(
            f"`{REPORT_FILENAME}` does not match the findings contract "
            f"({exc.error_count()} errors; first at `{where}`: {first['msg']})"
        ) from None
