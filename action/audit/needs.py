"""Read the reports of a gate's needs, as the workflow downloaded them from this run.

The workflow downloads every `canon-gate-report-*` artifact of the run so far into one folder,
each in its own subfolder named after the artifact. A report that is missing or does not parse
is absent: its need did not pass.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from action.report import ARTIFACT_NAME, DEFAULT_GATE, REPORT_FILENAME, Report


def load_need_reports(folder: Path) -> dict[str, Report]:
    """The reports under `folder`, by gate name (`structure` for the structural check's)."""
    found: dict[str, Report] = {}
    if not folder.is_dir():
        return found
    for sub in sorted(folder.iterdir()):
        name = sub.name
        if name == ARTIFACT_NAME:
            gate = DEFAULT_GATE
        elif name.startswith(ARTIFACT_NAME + "-"):
            gate = name.removeprefix(ARTIFACT_NAME + "-")
        else:
            continue
        try:
            report = Report.model_validate_json((sub / REPORT_FILENAME).read_bytes())
        except (OSError, ValidationError):
            continue
        # A report names its own gate: one filed under another name is not that need's.
        if report.run.gate == gate:
            found[gate] = report
    return found
