"""SARIF 2.1.0 for code scanning: one run per gate, one result per finding. Pure.

Code scanning tracks a result across pushes by its `partialFingerprints`; a finding's id is
already its stable fingerprint (its path, kind, canon, anchor and gate, never line numbers or the
model's wording), so it is that fingerprint. A refuted finding is a note; substantive ones are
errors and cosmetic ones warnings, as the check run's annotations are.
https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from action.report import Finding, Kind, Report, check_name

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
VERSION = "2.1.0"
INFORMATION_URI = "https://github.com/canon-gate/canon-gate"
FINGERPRINT = "canonGate/v1"
_RULES = {
    Kind.DRIFT: "The change departs from what the canon requires or forbids.",
    Kind.CONTRADICTION: "The change states the opposite of the canon.",
    Kind.BROKEN_SUPERSESSION: "The change relies on superseded canon, or breaks a chain.",
    Kind.BROKEN_REFERENCE: "A reference in the change names canon that does not exist.",
    Kind.MISSING_CANON: "The change needs governance the canon requires, and it is absent.",
    Kind.OTHER: "Another departure from the canon in force.",
}


def _level(finding: Finding) -> str:
    if finding.refuted:
        return "note"
    return "error" if finding.substantive else "warning"


def _message(finding: Finding) -> str:
    parts = [finding.claim]
    for item in finding.evidence:
        where = item.source + (f":{item.line}" if item.line else "")
        checked = "" if item.verified else " (unverified)"
        parts.append(f'Evidence{checked}, {where}: "{item.quote}"')
    if finding.suggested_fix is not None:
        parts.append(f"Suggested fix: {finding.suggested_fix.description}")
    return "\n".join(parts)


def _result(finding: Finding) -> dict[str, Any]:
    loc = finding.location
    result: dict[str, Any] = {
        "ruleId": finding.kind.value,
        "level": _level(finding),
        "message": {"text": _message(finding)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": loc.path, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": loc.start_line, "endLine": loc.end_line},
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT: finding.id},
        "properties": {
            "id": finding.id,
            "classification": finding.classification.value,
            "canon": list(finding.canon),
        },
    }
    if finding.verification is not None:
        result["properties"]["refuted"] = finding.refuted
    return result


def sarif_run(report: Report, version: str) -> dict[str, Any]:
    """One gate's run: its tool, its rules, its results, and whether it was evaluated."""
    run = report.run
    category = check_name(run.gate)
    out: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "canon-gate",
                "version": version,
                "informationUri": INFORMATION_URI,
                "rules": [
                    {
                        "id": kind.value,
                        "name": kind.value.replace("_", " "),
                        "shortDescription": {"text": text},
                    }
                    for kind, text in _RULES.items()
                ],
            }
        },
        "automationDetails": {"id": f"{category}/"},
        "results": [_result(f) for f in report.findings],
        "invocations": [
            {
                "executionSuccessful": report.evaluated,
                **(
                    {"toolExecutionNotifications": [{"message": {"text": report.error}}]}
                    if report.error
                    else {}
                ),
            }
        ],
        "properties": {"gate": run.gate, "governanceKey": run.governance_key},
    }
    if run.head_sha:
        out["versionControlProvenance"] = [
            {
                "repositoryUri": f"https://github.com/{run.repo}" if run.repo else INFORMATION_URI,
                "revisionId": run.head_sha,
            }
        ]
    return out


def to_sarif(reports: Sequence[Report], version: str) -> dict[str, Any]:
    """A SARIF log of the reports' gates (the structural check has no findings: left out)."""
    gates = [r for r in reports if r.run.gate != "structure"]
    return {"$schema": SCHEMA, "version": VERSION, "runs": [sarif_run(r, version) for r in gates]}


def installed_version() -> str:
    """canon-gate's version as installed, or "source" when it runs from a checkout (the Action)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("canon-gate")
    except PackageNotFoundError:
        return "source"
